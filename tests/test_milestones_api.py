"""Milestones over HTTP: create, read, list (filters, cursor), update, delete; dependencies
(another project's, a cycle), completing with incomplete dependencies (force), stale If-Match,
bad input; deliverables; tasks linked to milestones (validated, unlinked on delete); progress
derived by the milestones policy; templates and applying one."""

from __future__ import annotations

import threading
import uuid

import pytest

from application.errors import Conflict
from tests.support.milestones import Planner, eventually


@pytest.fixture
def plan(api) -> Planner:
    return Planner(api)


def test_create_read_and_list_with_filters_and_cursor(plan, api):
    member = api.register(name="Mia")
    plan.ok(
        plan.post(
            f"/workspaces/{plan.workspace['id']}/members",
            {"user_id": member["user"]["id"], "role": "member"},
        )
    )
    alpha = plan.milestone(title="Alpha", due_date="2030-01-10", priority="high")
    beta = plan.milestone(
        title="Beta",
        due_date="2030-02-10",
        description="second",
        assignee_ids=[member["user"]["id"]],
        dependencies=[alpha["id"]],
    )
    plan.milestone(title="Gamma", due_date="2030-03-10", status="in_progress", progress=30)
    assert beta["assignee_ids"] == [member["user"]["id"]]
    assert beta["dependencies"] == [alpha["id"]]
    assert beta["deliverables"] == []
    assert beta["progress_source"] == "manual"
    got = plan.get(f"/milestones/{beta['id']}")
    assert got.status_code == 200
    assert got.headers["ETag"] == f'"{beta["version"]}"'
    assert got.json()["description"] == "second"

    project = plan.project["id"]

    def titles(**query: str) -> list[str]:
        listed = plan.get(f"/projects/{project}/milestones", params=query).json()
        return [m["title"] for m in listed["data"]]

    assert titles() == ["Alpha", "Beta", "Gamma"]
    assert titles(status="in_progress") == ["Gamma"]
    assert titles(priority="high") == ["Alpha"]
    assert titles(assignee_id=member["user"]["id"]) == ["Beta"]
    assert titles(due_before="2030-02-10") == ["Alpha", "Beta"]
    assert titles(due_after="2030-02-11") == ["Gamma"]
    first = plan.get(f"/projects/{project}/milestones", params={"limit": 2}).json()
    assert [m["title"] for m in first["data"]] == ["Alpha", "Beta"]
    rest = plan.get(
        f"/projects/{project}/milestones", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [m["title"] for m in rest["data"]] == ["Gamma"]
    assert rest["next_cursor"] is None


def test_bad_input_is_422(plan, api):
    project = plan.project["id"]
    path = f"/api/v1/projects/{project}/milestones"

    def create(body: dict) -> dict:
        response = plan.client.post(path, json=body, headers=plan.headers)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        return response.json()

    create({"title": "No due date"})
    create({"title": "Bad date", "due_date": "2030-02-30"})
    problem = create({"title": "Too far", "due_date": "2030-01-01", "progress": 101})
    assert problem["errors"][0]["field"].endswith("progress")
    create({"title": "Negative", "due_date": "2030-01-01", "progress": -1})
    create({"title": "\u0000", "due_date": "2030-01-01"})
    outsider = api.register(name="Out")
    problem = create(
        {"title": "Who", "due_date": "2030-01-01", "assignee_ids": [outsider["user"]["id"]]}
    )
    assert problem["errors"][0]["field"] == "assignee_ids"
    milestone = plan.milestone()
    response = plan.put(f"/milestones/{milestone['id']}", {"progress": 150})
    assert response.status_code == 422
    response = plan.put(f"/milestones/{milestone['id']}", {"title": None})
    assert response.status_code == 422


def test_dependencies_on_another_project_or_closing_a_cycle_are_409(plan):
    a = plan.milestone(title="A")
    b = plan.milestone(title="B", dependencies=[a["id"]])
    c = plan.milestone(title="C", dependencies=[b["id"]])
    response = plan.put(f"/milestones/{a['id']}", {"dependencies": [c["id"]]})
    assert response.status_code == 409
    problem = response.json()
    assert problem["cycle"] == [a["id"], c["id"], b["id"], a["id"]]
    assert "cycle" in problem["detail"]
    elsewhere = plan.milestone(plan.new_project(name="Other"), title="Elsewhere")
    response = plan.put(f"/milestones/{a['id']}", {"dependencies": [elsewhere["id"]]})
    assert response.status_code == 409
    assert "not a milestone of this project" in response.json()["detail"]
    response = plan.post(
        f"/projects/{plan.project['id']}/milestones",
        {"title": "X", "due_date": "2030-01-01", "dependencies": [elsewhere["id"]]},
    )
    assert response.status_code == 409
    # Deleting B removes C's dependency on it.
    assert plan.delete(f"/milestones/{b['id']}").status_code == 204
    assert plan.get(f"/milestones/{c['id']}").json()["dependencies"] == []
    assert plan.get(f"/milestones/{b['id']}").status_code == 404


def test_completing_with_incomplete_dependencies_needs_force(plan):
    first = plan.milestone(title="First")
    second = plan.milestone(title="Second", dependencies=[first["id"]])
    response = plan.put(f"/milestones/{second['id']}", {"status": "completed"})
    assert response.status_code == 409
    assert response.json()["incomplete"] == [first["id"]]
    forced = plan.ok(
        plan.put(f"/milestones/{second['id']}", {"status": "completed", "force": True})
    )
    assert forced["status"] == "completed"
    assert forced["forced_completion"] is True
    assert forced["completed_at"] is not None
    plan.ok(plan.put(f"/milestones/{first['id']}", {"status": "in_progress"}))
    done = plan.ok(plan.put(f"/milestones/{first['id']}", {"status": "completed"}))
    assert done["forced_completion"] is False
    response = plan.put(f"/milestones/{first['id']}", {"status": "pending"})
    assert response.status_code == 409  # completed -> pending is not a transition
    history = plan.get(f"/audit/milestone/{second['id']}").json()["events"]
    completed = [e for e in history if e["event"] == "Completed"]
    assert completed[0]["data"]["forced"] is True
    assert completed[0]["data"]["incomplete_dependencies"] == [first["id"]]


def test_a_stale_if_match_is_412(plan):
    milestone = plan.milestone()
    path = f"/milestones/{milestone['id']}"
    renamed = plan.ok(
        plan.put(path, {"title": "Renamed"}, **{"If-Match": f'"{milestone["version"]}"'})
    )
    stale = plan.put(path, {"title": "Again"}, **{"If-Match": f'"{milestone["version"]}"'})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == renamed["version"]
    assert plan.delete(path, **{"If-Match": '"1"'}).status_code == 412
    deliverable = plan.ok(plan.post(f"{path}/deliverables", {"title": "Spec"}), 201)
    assert deliverable["version"] == 1
    updated = plan.ok(
        plan.put(
            f"/deliverables/{deliverable['id']}", {"status": "completed"}, **{"If-Match": '"1"'}
        )
    )
    assert updated["version"] == 2
    stale = plan.put(f"/deliverables/{deliverable['id']}", {"title": "x"}, **{"If-Match": '"1"'})
    assert stale.status_code == 412
    assert (
        plan.delete(f"/deliverables/{deliverable['id']}", **{"If-Match": '"1"'}).status_code == 412
    )
    assert plan.delete(path, **{"If-Match": f'"{renamed["version"] + 2}"'}).status_code == 204


def test_deliverables_crud(plan):
    milestone = plan.milestone()
    path = f"/milestones/{milestone['id']}/deliverables"
    spec = plan.ok(
        plan.post(path, {"title": "Spec", "type": "design", "due_date": "2030-01-20"}), 201
    )
    assert (spec["type"], spec["status"], spec["due_date"]) == ("design", "pending", "2030-01-20")
    code = plan.ok(plan.post(path, {"title": "Code", "type": "code"}), 201)
    assert plan.post(path, {"title": "Bad", "type": "poem"}).status_code == 422
    listed = plan.get(path, params={"limit": 1}).json()
    assert [d["title"] for d in listed["data"]] == ["Spec"]
    assert listed["next_cursor"]
    changed = plan.ok(
        plan.put(f"/deliverables/{code['id']}", {"status": "completed", "due_date": None})
    )
    assert changed["status"] == "completed"
    detail = plan.get(f"/milestones/{milestone['id']}").json()
    assert {d["title"] for d in detail["deliverables"]} == {"Spec", "Code"}
    assert plan.delete(f"/deliverables/{spec['id']}").status_code == 204
    assert plan.put(f"/deliverables/{spec['id']}", {"title": "x"}).status_code == 404
    assert [d["title"] for d in plan.get(path).json()["data"]] == ["Code"]


def test_tasks_link_to_milestones_of_their_project_and_are_unlinked_on_delete(plan):
    milestone = plan.milestone()
    elsewhere = plan.milestone(plan.new_project(name="Other"))
    task = plan.task(milestone_id=milestone["id"])
    assert task["milestone_id"] == milestone["id"]
    response = plan.post(
        f"/projects/{plan.project['id']}/tasks", {"title": "x", "milestone_id": elsewhere["id"]}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "milestone_id"
    response = plan.put(f"/tasks/{task['id']}", {"milestone_id": elsewhere["id"]})
    assert response.status_code == 422
    assert plan.delete(f"/milestones/{milestone['id']}").status_code == 204
    assert plan.get(f"/tasks/{task['id']}").json()["milestone_id"] is None
    # The policy unlinks the task itself too (its own event).
    assert eventually(
        lambda: any(
            e["event"] == "Updated" and e["data"]["changes"] == {"milestone_id": None}
            for e in plan.get(f"/audit/task/{task['id']}").json()["events"]
        )
    )
    response = plan.put(f"/tasks/{task['id']}", {"milestone_id": milestone["id"]})
    assert response.status_code == 422  # a deleted milestone


def test_progress_is_derived_from_linked_tasks_by_the_policy(plan):
    milestone = plan.milestone()
    path = f"/milestones/{milestone['id']}"
    plan.ok(plan.put(path, {"progress": 20}))
    big = plan.task(milestone_id=milestone["id"], estimated_hours=6)
    small = plan.task(milestone_id=milestone["id"], estimated_hours=2)

    def progress(expected: int, source: str = "tasks") -> bool:
        body = plan.get(path).json()
        return body["progress"] == expected and body["progress_source"] == source

    assert eventually(lambda: progress(0))
    assert plan.put(path, {"progress": 50}).status_code == 409  # the tasks decide now
    plan.ok(plan.put(f"/tasks/{big['id']}", {"status": "done"}))
    assert eventually(lambda: progress(75))
    plan.ok(plan.put(f"/tasks/{small['id']}", {"estimated_hours": 6}))
    assert eventually(lambda: progress(50))
    other = plan.milestone(title="Other")
    plan.ok(plan.put(f"/tasks/{small['id']}", {"milestone_id": other["id"]}))
    assert eventually(lambda: progress(100))
    assert eventually(
        lambda: plan.get(f"/milestones/{other['id']}").json()["progress_source"] == "tasks"
    )
    assert plan.delete(f"/tasks/{big['id']}").status_code == 204
    # No linked task left: the last derived value stays, and may be set by hand again.
    assert eventually(lambda: progress(100, "manual"))
    assert plan.ok(plan.put(path, {"progress": 10}))["progress"] == 10


def test_templates_and_applying_one(plan, api):
    body = {
        "workspace_id": plan.workspace["id"],
        "name": "Release",
        "category": "software",
        "milestones_data": [
            {"title": "Design", "due_offset_days": 10},
            {"title": "Build", "due_offset_days": 30, "depends_on": [0], "priority": "high"},
            {"title": "Ship", "due_offset_days": 45, "depends_on": [1]},
        ],
        "deliverables_data": [
            {"milestone": 0, "title": "Mockups", "type": "design", "due_offset_days": 7},
            {"milestone": 2, "title": "Release notes"},
        ],
    }
    template = plan.ok(plan.post("/milestone-templates", body), 201)
    assert template["usage_count"] == 0
    assert template["milestones_data"][1]["depends_on"] == [0]
    bad = {**body, "deliverables_data": [{"milestone": 7, "title": "x"}]}
    assert plan.post("/milestone-templates", bad).status_code == 422
    cyclic = {
        **body,
        "milestones_data": [{"title": "a", "depends_on": [1]}, {"title": "b", "depends_on": [0]}],
    }
    assert plan.post("/milestone-templates", cyclic).status_code == 422

    applied = plan.ok(
        plan.post(
            "/milestones/from-template",
            {
                "template_id": template["id"],
                "project_id": plan.project["id"],
                "start_date": "2030-01-01",
            },
        ),
        201,
    )
    design, build, ship = applied["milestones"]
    assert [m["due_date"] for m in (design, build, ship)] == [
        "2030-01-11",
        "2030-01-31",
        "2030-02-15",
    ]
    assert build["dependencies"] == [design["id"]]
    assert ship["dependencies"] == [build["id"]]
    assert build["priority"] == "high"
    assert [(d["title"], d["due_date"]) for d in design["deliverables"]] == [
        ("Mockups", "2030-01-08")
    ]
    assert [d["title"] for d in ship["deliverables"]] == ["Release notes"]
    assert plan.get(f"/milestone-templates/{template['id']}").json()["usage_count"] == 1

    # Private to its workspace: another user sees nothing, until it is public.
    stranger = api.register(name="Stranger")
    other = api.create_workspace(stranger, name="Theirs")
    response = plan.client.get(
        f"/api/v1/milestone-templates/{template['id']}", headers=stranger["headers"]
    )
    assert response.status_code == 404
    updated = plan.ok(
        plan.put(
            f"/milestone-templates/{template['id']}", {"is_public": True}, **{"If-Match": '"2"'}
        )
    )
    assert updated["is_public"] is True
    listed = plan.client.get(
        "/api/v1/milestone-templates",
        params={"workspace_id": other["id"]},
        headers=stranger["headers"],
    ).json()
    assert template["id"] in [t["id"] for t in listed["data"]]
    assert (
        plan.put(
            f"/milestone-templates/{template['id']}", {"name": "x"}, **{"If-Match": '"2"'}
        ).status_code
        == 412
    )
    assert plan.delete(f"/milestone-templates/{template['id']}").status_code == 204
    assert plan.get(f"/milestone-templates/{template['id']}").status_code == 404


def test_from_template_is_its_own_route(plan):
    """/milestones/from-template is not a milestone id: other methods are 405, naming POST."""
    response = plan.put("/milestones/from-template", {"title": "x"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert plan.get("/milestones/from-template").status_code == 405
    assert plan.get("/milestones/not-a-uuid").status_code == 404
    milestone = plan.milestone()
    assert plan.client.options(f"/api/v1/milestones/{milestone['id']}").headers["allow"] == (
        "DELETE, GET, PUT"
    )


def test_the_activity_feed_and_audit_replay_cover_milestones(plan):
    milestone = plan.milestone(title="First title")
    path = f"/milestones/{milestone['id']}"
    plan.ok(plan.put(path, {"title": "Second title", "progress": 40}))
    plan.ok(plan.post(f"{path}/deliverables", {"title": "Spec"}), 201)
    feed = plan.get(f"/workspaces/{plan.workspace['id']}/activities", params={"limit": 200})
    seen = {
        (a["object_type"], a["action"])
        for a in feed.json()["data"]
        if a["object_id"] == milestone["id"]
    }
    assert {
        ("milestone", "created"),
        ("milestone", "updated"),
        ("milestone", "progress_updated"),
        ("milestone", "deliverable_added"),
    } <= seen
    assert not any(a["object_type"] == "milestone_plan" for a in feed.json()["data"])
    then = plan.get(f"/audit/milestone/{milestone['id']}", params={"version": 1}).json()
    assert then["state"]["title"] == "First title"
    assert then["state"]["progress"] == 0
    now = plan.get(f"/audit/milestone/{milestone['id']}", params={"version": 4}).json()
    assert now["state"]["title"] == "Second title"
    assert next(iter(now["state"]["deliverables"].values()))["title"] == "Spec"


def test_concurrent_dependencies_never_close_a_cycle(plan):
    """Two writers at once, one making A wait for B and the other B for A: the project's plan
    takes them in turn, so one is refused (409, a cycle) and the plan stays acyclic."""
    service = plan.client.app.state.container.milestones
    actor = uuid.UUID(plan.owner["user"]["id"])

    def link(barrier: threading.Barrier, outcomes: list, source: str, target: str) -> None:
        barrier.wait()
        try:
            service.update(
                milestone_id=uuid.UUID(source),
                actor_id=actor,
                expected_version=None,
                dependencies=[uuid.UUID(target)],
            )
            outcomes.append("linked")
        except Conflict as e:
            outcomes.append(f"refused: {e.code}")

    for _ in range(5):
        a, b = plan.milestone(title="A")["id"], plan.milestone(title="B")["id"]
        barrier, outcomes = threading.Barrier(2), []
        threads = [
            threading.Thread(target=link, args=(barrier, outcomes, *pair))
            for pair in ((a, b), (b, a))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(outcomes) == ["linked", "refused: cycle"]
