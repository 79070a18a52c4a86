"""Tasks: content, status and completion, assignees, subtasks, dependencies without cycles
(even under concurrent writers), If-Match, roles and payload validation."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

import pytest

from application.authorization import Action
from application.errors import Conflict
from application.tasks import live_task
from domain.projects import Project
from domain.tasks import Task, TaskGraph
from tests.support.authz import add_member
from tests.support.authz_tasks import make_project
from tests.support.projections import wait_until

PROBLEM = "application/problem+json"


@dataclass
class Team:
    owner: dict
    admin: dict
    member: dict
    viewer: dict
    outsider: dict
    workspace: dict
    project_id: str

    @property
    def tasks_url(self) -> str:
        return f"/api/v1/projects/{self.project_id}/tasks"


@pytest.fixture
def team(api, client) -> Team:
    owner = api.register(name="Owner")
    workspace = api.create_workspace(owner, name="Tasks")
    people = {}
    for role in ("admin", "member", "viewer"):
        people[role] = api.register(name=role.title())
        add_member(client, workspace["id"], owner, people[role]["user"]["id"], role)
    outsider = api.register(name="Outsider")
    api.create_workspace(outsider, name="Elsewhere")
    project_id = make_project(client, owner, workspace["id"])
    return Team(
        owner, people["admin"], people["member"], people["viewer"], outsider, workspace, project_id
    )


def create(client, team: Team, by: dict | None = None, **body) -> dict:
    body.setdefault("title", "A task")
    response = client.post(team.tasks_url, json=body, headers=(by or team.owner)["headers"])
    assert response.status_code == 201, response.text
    return response.json()


def new_milestone(client, team: Team) -> str:
    """A milestone of the team's project (a task's milestone_id must name one)."""
    response = client.post(
        f"/api/v1/projects/{team.project_id}/milestones",
        json={"title": "M", "due_date": "2030-01-31"},
        headers=team.owner["headers"],
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def put(client, task_id: str, user: dict, body: dict, **headers):
    return client.put(f"/api/v1/tasks/{task_id}", json=body, headers={**user["headers"], **headers})


def get(client, task_id: str, user: dict):
    return client.get(f"/api/v1/tasks/{task_id}", headers=user["headers"])


# Content -------------------------------------------------------------------------------------


def test_create_then_get_sees_every_field(client, team):
    milestone = new_milestone(client, team)
    created = create(
        client,
        team,
        by=team.member,
        title="  Write the spec  ",
        description="All of it",
        priority="high",
        estimated_hours="12.50",
        assignee_id=team.admin["user"]["id"],
        due_date="2030-01-31T17:00:00Z",
        tags=["docs", "q1"],
        milestone_id=milestone,
    )
    assert created["title"] == "Write the spec"
    assert (created["status"], created["priority"]) == ("todo", "high")
    assert created["estimated_hours"] == 12.5
    assert created["actual_hours"] == 0
    assert created["assignee_id"] == team.admin["user"]["id"]
    assert created["created_by"] == team.member["user"]["id"]
    assert created["tags"] == ["docs", "q1"]
    assert created["milestone_id"] == milestone
    assert created["project_id"] == team.project_id
    assert created["workspace_id"] == team.workspace["id"]
    assert created["parent_task_id"] is None
    assert created["dependencies"] == []
    assert created["completed_at"] is None
    assert created["version"] == 1
    response = get(client, created["id"], team.viewer)
    assert response.status_code == 200
    assert response.json() == created
    assert response.headers["etag"] == '"1"'


def test_defaults_and_naive_due_dates_are_utc(client, team):
    created = create(client, team, due_date="2030-05-01T09:00:00")
    assert (created["status"], created["priority"], created["tags"]) == ("todo", "medium", [])
    assert created["due_date"].startswith("2030-05-01T09:00:00")
    assert created["due_date"].endswith(("Z", "+00:00"))


def test_update_changes_only_what_is_given_and_null_clears(client, team):
    task = create(client, team, description="d", estimated_hours=3, tags=["a"])
    response = put(client, task["id"], team.member, {"title": "Renamed", "description": None})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["title"], body["description"], body["tags"]) == ("Renamed", None, ["a"])
    assert body["estimated_hours"] == 3
    assert body["version"] == 2
    assert response.headers["etag"] == '"2"'
    same = put(client, task["id"], team.member, {"title": "Renamed"})
    assert same.json()["version"] == 2  # nothing changed, nothing recorded


def test_completed_at_is_set_on_done_and_cleared_when_reopened(client, team):
    task = create(client, team)
    done = put(client, task["id"], team.owner, {"status": "done"}).json()
    assert done["status"] == "done"
    assert done["completed_at"] is not None
    assert done["completed_at"] == done["updated_at"]  # the event's own timestamp
    still = put(client, task["id"], team.owner, {"title": "Still done"}).json()
    assert still["completed_at"] == done["completed_at"]
    reopened = put(client, task["id"], team.owner, {"status": "review"}).json()
    assert reopened["completed_at"] is None
    born_done = create(client, team, status="done")
    assert born_done["completed_at"] == born_done["created_at"]


def test_assignee_must_be_a_workspace_member_else_422(client, team):
    task = create(client, team)
    outsider_id = team.outsider["user"]["id"]
    response = put(client, task["id"], team.owner, {"assignee_id": outsider_id})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == "assignee_id"
    response = client.post(
        team.tasks_url,
        json={"title": "x", "assignee_id": str(uuid.uuid4())},
        headers=team.owner["headers"],
    )
    assert response.status_code == 422
    assigned = put(client, task["id"], team.owner, {"assignee_id": team.viewer["user"]["id"]})
    assert assigned.json()["assignee_id"] == team.viewer["user"]["id"]
    cleared = put(client, task["id"], team.owner, {"assignee_id": None})
    assert cleared.json()["assignee_id"] is None


def test_stale_if_match_is_412_and_changes_nothing(client, team):
    task = create(client, team, title="First")
    ok = put(client, task["id"], team.owner, {"title": "Second"}, **{"If-Match": '"1"'})
    assert ok.status_code == 200
    stale = put(client, task["id"], team.owner, {"title": "Third"}, **{"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert get(client, task["id"], team.owner).json()["title"] == "Second"
    stale_delete = client.delete(
        f"/api/v1/tasks/{task['id']}", headers={**team.owner["headers"], "If-Match": '"1"'}
    )
    assert stale_delete.status_code == 412
    garbage = put(client, task["id"], team.owner, {"title": "x"}, **{"If-Match": "v2"})
    assert garbage.status_code == 422


# Listing -------------------------------------------------------------------------------------


def test_list_filters_combine_and_pages_walk_every_task_once(client, team):
    milestone = new_milestone(client, team)
    parent = create(client, team, title="Parent")
    made = [
        create(client, team, title="T1", status="in_progress", priority="high"),
        create(client, team, title="T2", priority="high", assignee_id=team.member["user"]["id"]),
        create(client, team, title="T3", milestone_id=milestone, parent_task_id=parent["id"]),
        create(client, team, title="T4", status="in_progress", milestone_id=milestone),
    ]

    def titles(**params) -> list[str]:
        response = client.get(team.tasks_url, params=params, headers=team.viewer["headers"])
        assert response.status_code == 200, response.text
        return [t["title"] for t in response.json()["data"]]

    assert titles() == ["Parent", "T1", "T2", "T3", "T4"]
    assert titles(status="in_progress") == ["T1", "T4"]
    assert titles(priority="high") == ["T1", "T2"]
    assert titles(status="in_progress", priority="high") == ["T1"]
    assert titles(assignee_id=team.member["user"]["id"]) == ["T2"]
    assert titles(milestone_id=milestone) == ["T3", "T4"]
    assert titles(parent_task_id=parent["id"]) == ["T3"]
    assert len(made) == 4

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(team.tasks_url, params=params, headers=team.owner["headers"]).json()
        assert len(page["data"]) <= 2
        seen += [t["title"] for t in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Parent", "T1", "T2", "T3", "T4"]

    bad = client.get(team.tasks_url, params={"status": "nope"}, headers=team.owner["headers"])
    assert bad.status_code == 422
    bad = client.get(team.tasks_url, params={"cursor": "%%%"}, headers=team.owner["headers"])
    assert bad.status_code == 422


# Subtasks ------------------------------------------------------------------------------------


def test_subtasks_need_a_live_parent_of_the_same_project(client, team):
    parent = create(client, team, title="Parent")
    child = create(client, team, title="Child", parent_task_id=parent["id"])
    assert child["parent_task_id"] == parent["id"]

    other_project = make_project(client, team.owner, team.workspace["id"], "Other")
    response = client.post(
        f"/api/v1/projects/{other_project}/tasks",
        json={"title": "Stranger", "parent_task_id": parent["id"]},
        headers=team.owner["headers"],
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "parent_task_id"
    unknown = client.post(
        team.tasks_url,
        json={"title": "x", "parent_task_id": str(uuid.uuid4())},
        headers=team.owner["headers"],
    )
    assert unknown.status_code == 422

    gone = create(client, team, title="Gone")
    assert (
        client.delete(f"/api/v1/tasks/{gone['id']}", headers=team.owner["headers"]).status_code
        == 204
    )
    response = put(client, child["id"], team.owner, {"parent_task_id": gone["id"]})
    assert response.status_code == 422

    moved = put(client, child["id"], team.owner, {"parent_task_id": None})
    assert moved.status_code == 200
    assert moved.json()["parent_task_id"] is None


def test_a_parent_cycle_is_409_and_names_the_cycle(client, team):
    a = create(client, team, title="A")
    b = create(client, team, title="B", parent_task_id=a["id"])
    c = create(client, team, title="C", parent_task_id=b["id"])
    response = put(client, a["id"], team.owner, {"parent_task_id": c["id"]})
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["cycle"] == [a["id"], c["id"], b["id"], a["id"]]
    assert problem["kind"] == "parent task"
    assert "cycle" in problem["detail"]
    own = put(client, a["id"], team.owner, {"parent_task_id": a["id"]})
    assert own.status_code == 409
    assert own.json()["cycle"] == [a["id"], a["id"]]
    assert get(client, a["id"], team.owner).json()["parent_task_id"] is None


def test_deleting_a_task_deletes_its_subtasks_and_unlinks_dependents(client, team):
    root = create(client, team, title="Root")
    child = create(client, team, title="Child", parent_task_id=root["id"])
    grandchild = create(client, team, title="Grandchild", parent_task_id=child["id"])
    keep = create(client, team, title="Keep")
    waiting = create(client, team, title="Waiting", dependencies=[child["id"], keep["id"]])
    response = client.delete(f"/api/v1/tasks/{root['id']}", headers=team.member["headers"])
    assert response.status_code == 204
    for gone in (root, child, grandchild):
        assert get(client, gone["id"], team.owner).status_code == 404
    after = get(client, waiting["id"], team.owner).json()
    assert after["dependencies"] == [keep["id"]]
    assert after["version"] == waiting["version"] + 1
    titles = [
        t["title"] for t in client.get(team.tasks_url, headers=team.owner["headers"]).json()["data"]
    ]
    assert titles == ["Keep", "Waiting"]
    again = client.delete(f"/api/v1/tasks/{root['id']}", headers=team.owner["headers"])
    assert again.status_code == 404
    assert put(client, child["id"], team.owner, {"title": "x"}).status_code == 404


# Dependencies --------------------------------------------------------------------------------


def test_dependencies_must_be_tasks_of_the_project(client, team):
    a = create(client, team, title="A")
    other_project = make_project(client, team.owner, team.workspace["id"], "Other")
    stranger = client.post(
        f"/api/v1/projects/{other_project}/tasks",
        json={"title": "Stranger"},
        headers=team.owner["headers"],
    ).json()
    for deps in ([stranger["id"]], [str(uuid.uuid4())]):
        response = put(client, a["id"], team.owner, {"dependencies": deps})
        assert response.status_code == 422, deps
        assert response.json()["errors"][0]["field"] == "dependencies"
    repeated = put(client, a["id"], team.owner, {"dependencies": [a["id"], a["id"]]})
    assert repeated.status_code == 422


def test_a_dependency_cycle_is_409_and_names_the_cycle(client, team):
    a = create(client, team, title="A")
    b = create(client, team, title="B", dependencies=[a["id"]])
    c = create(client, team, title="C", dependencies=[b["id"]])
    assert c["dependencies"] == [b["id"]]
    response = put(client, a["id"], team.owner, {"dependencies": [c["id"]]})
    assert response.status_code == 409
    problem = response.json()
    assert problem["kind"] == "dependency"
    assert problem["cycle"] == [a["id"], c["id"], b["id"], a["id"]]
    assert f"{a['id']} -> {c['id']}" in problem["detail"]
    own = put(client, a["id"], team.owner, {"dependencies": [a["id"]]})
    assert own.status_code == 409
    # A diamond is not a cycle.
    d = create(client, team, title="D", dependencies=[b["id"], c["id"]])
    assert d["dependencies"] == [b["id"], c["id"]]
    cleared = put(client, b["id"], team.owner, {"dependencies": []})
    assert cleared.json()["dependencies"] == []
    assert put(client, a["id"], team.owner, {"dependencies": [c["id"]]}).status_code == 200


def _race(client, requests: list[tuple[str, dict, dict]]) -> list[int]:
    """Send the PUTs at the same moment from threads; return their statuses."""
    barrier = threading.Barrier(len(requests))
    statuses: list[int] = [0] * len(requests)

    def send(i: int, task_id: str, user: dict, body: dict) -> None:
        barrier.wait()
        statuses[i] = put(client, task_id, user, body).status_code

    threads = [
        threading.Thread(target=send, args=(i, *request)) for i, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


def test_two_concurrent_requests_cannot_close_a_cycle_together(client, team):
    for _ in range(3):
        a = create(client, team, title="A")
        b = create(client, team, title="B")
        statuses = _race(
            client,
            [
                (a["id"], team.owner, {"dependencies": [b["id"]]}),
                (b["id"], team.member, {"dependencies": [a["id"]]}),
            ],
        )
        assert sorted(statuses) == [200, 409]
        deps = {t: get(client, t, team.owner).json()["dependencies"] for t in (a["id"], b["id"])}
        assert [a["id"]] not in deps.values() or [b["id"]] not in deps.values()
    # Parents too: two moves that would make each other's ancestor.
    p = create(client, team, title="P")
    q = create(client, team, title="Q")
    statuses = _race(
        client,
        [
            (p["id"], team.owner, {"parent_task_id": q["id"]}),
            (q["id"], team.admin, {"parent_task_id": p["id"]}),
        ],
    )
    assert sorted(statuses) == [200, 409]


def test_a_version_clash_on_the_graph_reruns_the_command_and_refuses_the_cycle(client, team):
    """Another process links B -> A after this command loaded the graph: the save clashes,
    the command is re-run on the new graph, and the cycle is refused."""
    store = client.app.state.container.store
    service = client.app.state.container.tasks
    a = uuid.UUID(create(client, team, title="A")["id"])
    b = uuid.UUID(create(client, team, title="B")["id"])
    actor = uuid.UUID(team.owner["user"]["id"])
    attempts = []

    def command():
        attempts.append(1)
        task = live_task(store, a, actor, Action.TASK_WRITE)
        graph = service._graph(task.project_id, task.workspace_id, actor)
        graph.link(actor, a, None, [b])
        task.change_dependencies(actor, [b])
        if len(attempts) == 1:  # the other writer commits in between
            service.update(task_id=b, actor_id=actor, expected_version=None, dependencies=[a])
        return None, [task, graph]

    with pytest.raises(Conflict) as caught:
        store.run(command)
    assert len(attempts) == 2
    assert caught.value.extra["cycle"] == [str(a), str(b), str(a)]
    assert store.load(Task, a).dependencies == []
    assert store.load(Task, b).dependencies == [a]
    graph = store.load(TaskGraph, TaskGraph.id_for(uuid.UUID(team.project_id)))
    assert graph.dependencies == {str(b): [str(a)]}


# Access and validation -----------------------------------------------------------------------


def test_viewers_read_but_cannot_write(client, team):
    task = create(client, team)
    assert get(client, task["id"], team.viewer).status_code == 200
    assert client.get(team.tasks_url, headers=team.viewer["headers"]).status_code == 200
    for response in (
        client.post(team.tasks_url, json={"title": "x"}, headers=team.viewer["headers"]),
        put(client, task["id"], team.viewer, {"title": "x"}),
        client.delete(f"/api/v1/tasks/{task['id']}", headers=team.viewer["headers"]),
    ):
        assert response.status_code == 403
        assert response.headers["content-type"] == PROBLEM


def test_outsiders_get_404_and_anonymous_callers_401(client, team):
    task = create(client, team)
    url = f"/api/v1/tasks/{task['id']}"
    headers = team.outsider["headers"]
    for response in (
        client.get(team.tasks_url, headers=headers),
        client.post(team.tasks_url, json={"title": "x"}, headers=headers),
        client.get(url, headers=headers),
        client.put(url, json={"title": "x"}, headers=headers),
        client.delete(url, headers=headers),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM
    for response in (
        client.get(team.tasks_url),
        client.post(team.tasks_url, json={"title": "x"}),
        client.get(url),
        client.put(url, json={"title": "x"}),
        client.delete(url),
    ):
        assert response.status_code == 401
    assert get(client, task["id"], team.owner).json()["title"] == task["title"]


def test_missing_and_malformed_ids(client, team):
    missing = str(uuid.uuid4())
    headers = team.owner["headers"]
    assert client.get(f"/api/v1/tasks/{missing}", headers=headers).status_code == 404
    assert (
        client.put(f"/api/v1/tasks/{missing}", json={"title": "x"}, headers=headers).status_code
        == 404
    )
    assert client.delete(f"/api/v1/tasks/{missing}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/projects/{missing}/tasks", headers=headers).status_code == 404
    assert (
        client.post(
            f"/api/v1/projects/{missing}/tasks", json={"title": "x"}, headers=headers
        ).status_code
        == 404
    )
    assert client.get("/api/v1/tasks/not-a-uuid", headers=headers).status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": ""},
        {"title": "   "},
        {"title": "x" * 256},
        {"title": "ok", "description": "d" * 20_001},
        {"title": "ok", "status": "finished"},
        {"title": "ok", "priority": "critical"},
        {"title": "ok", "estimated_hours": -1},
        {"title": "ok", "estimated_hours": 1000},
        {"title": "ok", "estimated_hours": "1.234"},
        {"title": "ok", "tags": "a,b"},
        {"title": "ok", "tags": [""]},
        {"title": "ok", "dependencies": ["nope"]},
        {"title": "ok", "due_date": "someday"},
        {"title": "ok", "completed_at": "2030-01-01T00:00:00Z"},
        {"title": "ok", "created_by": str(uuid.uuid4())},
    ],
)
def test_invalid_create_payloads_are_422(client, team, body):
    response = client.post(team.tasks_url, json=body, headers=team.owner["headers"])
    assert response.status_code == 422, body
    assert response.json()["errors"]


def test_invalid_update_payloads_are_422(client, team):
    task = create(client, team)
    for body in (
        {"title": None},
        {"status": None},
        {"tags": None},
        {"dependencies": None},
        {"title": "x" * 256},
        {"status": "nope"},
        {"id": str(uuid.uuid4())},
    ):
        response = put(client, task["id"], team.owner, body)
        assert response.status_code == 422, body
    assert put(client, task["id"], team.owner, {"description": "d" * 20_000}).status_code == 200


def test_a_deleted_project_takes_its_tasks_with_it(client, team):
    task = create(client, team)
    store = client.app.state.container.store
    project = store.load(Project, uuid.UUID(team.project_id))
    project.delete(actor_id=uuid.UUID(team.owner["user"]["id"]))
    store.save(project)
    headers = team.owner["headers"]
    assert client.get(team.tasks_url, headers=headers).status_code == 404
    assert put(client, task["id"], team.owner, {"title": "x"}).status_code == 404
    assert client.post(team.tasks_url, json={"title": "x"}, headers=headers).status_code == 404
    wait_until(lambda: get(client, task["id"], team.owner).status_code == 404, timeout=10)
