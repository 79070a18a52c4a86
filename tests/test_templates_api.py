"""Project templates over HTTP: create (also from a project), read, list (filters, cursor),
update (If-Match), delete; who may change a private or a public template; bad input; using a
template (every milestone date, task, mapped dependency, the board, the usage count) and a
failure half-way that leaves nothing behind."""

from __future__ import annotations

import psycopg
import pytest

from domain.kanban import Board
from tests.support.milestones import eventually
from tests.support.templates import Templates, release_phases


@pytest.fixture
def t(api) -> Templates:
    return Templates(api)


def by_title(items: list[dict]) -> dict[str, dict]:
    return {item["title"]: item for item in items}


def test_using_a_template_makes_a_dated_linked_project(t):
    template = t.template(description="How we ship")
    response = t.use(template["id"], create_board=True, board_name="Flow")
    assert response.status_code == 201, response.text
    made = response.json()
    project_id = made["project_id"]
    assert response.headers["Location"] == f"/api/v1/projects/{project_id}"

    project = t.ok(t.get(f"/projects/{project_id}"))
    assert project["name"] == "From template"
    assert project["description"] == "How we ship"
    assert project["workspace_id"] == t.workspace["id"]
    assert project["status"] == "planning"
    assert project["owner_id"] == t.owner["user"]["id"]
    # 2030-01-04 is a Friday: Plan (5 working days) Fri 4 .. Thu 10, Build (3) Fri 11 ..
    # Tue 15, Ship (2) Wed 16 .. Thu 17.
    assert (project["start_date"], project["end_date"]) == ("2030-01-04", "2030-01-17")

    milestones = t.ok(t.get(f"/projects/{project_id}/milestones"))["data"]
    assert [(m["title"], m["due_date"]) for m in milestones] == [
        ("Plan", "2030-01-10"),
        ("Build", "2030-01-15"),
        ("Ship", "2030-01-17"),
    ]
    assert [m["id"] for m in milestones] == made["milestone_ids"]
    plan, build, ship = milestones
    assert plan["description"] == "scope it"
    assert plan["dependencies"] == []
    assert build["dependencies"] == [plan["id"]]
    assert ship["dependencies"] == [build["id"]]
    assert all(m["status"] == "pending" for m in milestones)

    tasks = t.ok(t.get(f"/projects/{project_id}/tasks"))["data"]
    assert len(tasks) == 5
    task = by_title(tasks)
    assert made["task_ids"] == [
        task[title]["id"]
        for title in (
            "Write the scope",
            "Estimate the work",
            "Write the code",
            "Write the docs",
            "Release it",
        )
    ]
    expected = {
        # title: (milestone, estimated hours, tags, dependencies by title)
        "Write the scope": (plan, 6.0, [], []),
        "Estimate the work": (plan, 2.5, ["planning"], ["Write the scope"]),
        "Write the code": (build, 20.0, ["python", "sql"], ["Estimate the work"]),
        "Write the docs": (build, 4.0, [], ["Write the scope"]),
        "Release it": (ship, None, [], ["Write the code", "Write the docs"]),
    }
    for title, (milestone, hours, tags, dependencies) in expected.items():
        got = task[title]
        assert got["milestone_id"] == milestone["id"], title
        assert got["estimated_hours"] == hours, title
        assert got["tags"] == tags, title
        assert sorted(got["dependencies"]) == sorted(task[d]["id"] for d in dependencies), title
        assert got["status"] == "todo"
        assert got["project_id"] == project_id

    board = t.ok(t.get(f"/boards/{made['board_id']}"))
    assert board["name"] == "Flow"
    assert board["project_id"] == project_id
    assert [(c["name"], c["is_done_column"]) for c in board["columns"]] == [
        ("To Do", False),
        ("In Progress", False),
        ("Review", False),
        ("Done", True),
    ]

    def usage() -> int:
        return t.get(f"/templates/{template['id']}").json()["usage_count"]

    assert eventually(lambda: usage() == 1)
    second = t.use(template["id"], project_name="Again")
    assert second.status_code == 201
    assert second.json()["board_id"] is None
    assert eventually(lambda: usage() == 2)
    # The project is one like any other: the critical path runs over it.
    path = t.ok(t.get(f"/projects/{project_id}/critical-path"))
    assert path["critical_path"][-1] == ship["id"], path


def test_a_failure_half_way_leaves_nothing_behind(t, settings, monkeypatch):
    template = t.template()

    def created_count() -> int:
        with psycopg.connect(settings.database_url) as conn:
            return conn.execute(
                "SELECT count(*) FROM worksync_events WHERE topic IN"
                " ('domain.projects:Project.Created', 'domain.tasks:Task.Created',"
                " 'domain.milestones:Milestone.Created', 'domain.templates:TemplateUse.Recorded')"
            ).fetchone()[0]

    before = created_count()
    # Dates past the year 9999: refused after the project and the first milestones were made.
    late = t.use(template["id"], start_date="9999-12-27")
    assert late.status_code == 409
    assert late.headers["content-type"] == "application/problem+json"
    assert "9999" in late.json()["detail"]

    # A crash at the very end (the board's last column), after everything else was built.
    calls = []

    def crash(self, **column):
        calls.append(column["name"])
        if column["name"] == "Done":
            raise RuntimeError("the machine fell over")
        return original(self, **column)

    original = Board.add_column
    monkeypatch.setattr(Board, "add_column", crash)
    crashed = t.use(template["id"], create_board=True)
    assert crashed.status_code == 500
    assert crashed.headers["content-type"] == "application/problem+json"
    assert calls == ["To Do", "In Progress", "Review", "Done"]
    monkeypatch.undo()

    assert created_count() == before
    projects = t.ok(t.get("/projects", params={"workspace_id": t.workspace["id"]}))
    assert projects["data"] == []
    assert t.get(f"/templates/{template['id']}").json()["usage_count"] == 0


def test_use_needs_a_readable_template_and_the_right_to_create_projects(t, api):
    template = t.template()
    viewer = t.member("viewer", "Vic")
    assert t.use(template["id"], as_user=viewer).status_code == 403
    stranger = api.register(name="Eve")
    elsewhere = api.create_workspace(stranger, name="Elsewhere")
    # A private template of another workspace does not exist for the stranger.
    assert t.use(template["id"], as_user=stranger, workspace_id=elsewhere["id"]).status_code == 404
    # Nor may the owner create projects in the stranger's workspace.
    assert t.use(template["id"], workspace_id=elsewhere["id"]).status_code == 404
    missing = t.use("00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    bad = t.use(template["id"], start_date="not a date")
    assert bad.status_code == 422


def test_create_read_update_delete_with_if_match(t):
    template = t.template(category="Engineering", tags=["release", "software"])
    assert template["usage_count"] == 0
    assert template["version"] == 1
    assert template["tags"] == ["release", "software"]
    phases = template["template_data"]["phases"]
    assert [p["name"] for p in phases] == ["Plan", "Build", "Ship"]
    assert [p["estimated_duration"] for p in phases] == [5, 3, 2]
    assert phases[1]["tasks"][1]["key"] == "2.2"  # the default key: phase 2, task 2
    assert phases[2]["tasks"][0]["dependencies"] == ["code", "2.2"]
    got = t.get(f"/templates/{template['id']}")
    assert got.headers["ETag"] == '"1"'

    stale = t.put(f"/templates/{template['id']}", {"name": "X"}, **{"If-Match": '"7"'})
    assert stale.status_code == 412
    new_phases = release_phases()[:2]
    new_phases[1]["tasks"] = new_phases[1]["tasks"][:1]
    updated = t.put(
        f"/templates/{template['id']}",
        {"name": "Release v2", "category": None, "phases": new_phases},
        **{"If-Match": '"1"'},
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert (body["name"], body["category"], body["version"]) == ("Release v2", None, 2)
    kept = body["template_data"]["phases"]
    assert [p["name"] for p in kept] == ["Plan", "Build"]
    # Phases at the same position and tasks with the same key keep their ids.
    assert [p["id"] for p in kept] == [p["id"] for p in phases[:2]]
    assert kept[1]["tasks"][0]["id"] == phases[1]["tasks"][0]["id"]
    assert t.put(f"/templates/{template['id']}", {"name": None}).status_code == 422

    assert t.delete(f"/templates/{template['id']}", **{"If-Match": '"1"'}).status_code == 412
    assert t.delete(f"/templates/{template['id']}").status_code == 204
    assert t.get(f"/templates/{template['id']}").status_code == 404
    assert t.delete(f"/templates/{template['id']}").status_code == 404
    assert t.use(template["id"]).status_code == 404


def test_phase_and_task_rows_follow_the_template(t, settings):
    template = t.template()

    def rows() -> list[tuple]:
        with psycopg.connect(settings.database_url) as conn:
            return conn.execute(
                "SELECT p.name, p.position, p.estimated_duration, k.title, k.position,"
                " k.estimated_hours::float8, k.required_skills, k.dependencies"
                " FROM template_phases p JOIN template_tasks k ON k.phase_id = p.id"
                " WHERE p.template_id = %s ORDER BY p.position, k.position",
                (template["id"],),
            ).fetchall()

    data = template["template_data"]["phases"]
    ids = {k["key"]: k["id"] for p in data for k in p["tasks"]}
    expected = [
        (
            p["name"],
            p["position"],
            p["estimated_duration"],
            k["title"],
            k["position"],
            k["estimated_hours"],
            k["required_skills"],
            [ids[d] for d in k["dependencies"]],
        )
        for p in data
        for k in p["tasks"]
    ]
    assert rows() == expected
    assert len(expected) == 5
    t.put(f"/templates/{template['id']}", {"phases": [{"name": "Only", "tasks": []}]})
    assert rows() == []
    t.delete(f"/templates/{template['id']}")
    with psycopg.connect(settings.database_url) as conn:
        left = conn.execute(
            "SELECT count(*) FROM template_phases WHERE template_id = %s", (template["id"],)
        ).fetchone()[0]
    assert left == 0


def test_bad_input_is_problem_json(t):
    def create(**fields) -> dict:
        body = {"workspace_id": t.workspace["id"], "name": "T", "phases": release_phases()}
        response = t.post("/templates", {**body, **fields})
        assert response.headers["content-type"] == "application/problem+json"
        return {"status": response.status_code, **response.json()}

    assert create(name="")["status"] == 422
    assert create(name="  ")["status"] == 422
    assert create(name="a\x00b")["status"] == 422
    assert create(phases=[])["status"] == 422
    negative = [{"name": "P", "estimated_duration": -1}]
    assert create(phases=negative)["status"] == 422
    assert (
        create(phases=[{"name": "P", "tasks": [{"title": "x", "estimated_hours": -2}]}])["status"]
        == 422
    )
    assert create(phases=None, from_project_id=None)["status"] == 422

    unknown = create(
        phases=[{"name": "P", "tasks": [{"key": "a", "title": "A", "dependencies": ["zz"]}]}]
    )
    assert unknown["status"] == 409
    assert "'zz'" in unknown["detail"]
    assert unknown["dependency"] == "zz"
    cycle = create(
        phases=[
            {"name": "P", "tasks": [{"key": "a", "title": "A", "dependencies": ["c"]}]},
            {
                "name": "Q",
                "tasks": [
                    {"key": "b", "title": "B", "dependencies": ["a"]},
                    {"key": "c", "title": "C", "dependencies": ["b"]},
                ],
            },
        ]
    )
    assert cycle["status"] == 409
    assert "cycle" in cycle["detail"]
    assert set(cycle["cycle"]) == {"a", "b", "c"}
    own = create(
        phases=[{"name": "P", "tasks": [{"key": "a", "title": "A", "dependencies": ["a"]}]}]
    )
    assert own["status"] == 409
    twice = create(
        phases=[{"name": "P", "tasks": [{"key": "a", "title": "A"}, {"key": "a", "title": "B"}]}]
    )
    assert twice["status"] == 409
    assert "'a'" in twice["detail"]


def test_who_may_change_a_private_template(t, api):
    admin = t.member("admin", "Ada")
    author = t.member("member", "Max")
    other = t.member("member", "Moe")
    viewer = t.member("viewer", "Vic")
    mine = t.template(as_user=author, name="Max's")
    path = f"/templates/{mine['id']}"
    assert t.put(path, {"name": "by another member"}, as_user=other).status_code == 403
    assert t.put(path, {"name": "by a viewer"}, as_user=viewer).status_code == 403
    assert t.get(path, as_user=viewer).status_code == 200
    assert t.put(path, {"name": "by its author"}, as_user=author).status_code == 200
    assert t.put(path, {"name": "by an admin"}, as_user=admin).status_code == 200
    # An author who became a viewer no longer changes it.
    t.ok(
        t.client.put(
            f"/api/v1/workspaces/{t.workspace['id']}/members/{author['user']['id']}",
            json={"role": "viewer"},
            headers=t.headers,
        )
    )
    assert t.put(path, {"name": "by a demoted author"}, as_user=author).status_code == 403
    stranger = api.register(name="Eve")
    assert t.get(path, as_user=stranger).status_code == 404
    assert t.put(path, {"name": "x"}, as_user=stranger).status_code == 404
    assert t.delete(path, as_user=stranger).status_code == 404
    assert t.delete(path, as_user=other).status_code == 403
    assert t.delete(path, as_user=admin).status_code == 204


def test_public_templates_are_for_instance_administrators_to_change(t, api, client):
    refused = t.post(
        "/templates",
        {
            "workspace_id": t.workspace["id"],
            "name": "P",
            "is_public": True,
            "phases": release_phases(),
        },
    )
    assert refused.status_code == 403
    private = t.template()
    publish = t.put(f"/templates/{private['id']}", {"is_public": True})
    assert publish.status_code == 403

    from interfaces.bootstrap import open_identity

    identity = open_identity(
        client.app.state.container.settings, client.app.state.container.database_url
    )
    try:
        identity.grant_admin(email=t.owner["user"]["email"])
    finally:
        identity.store.close()
    public = t.template(is_public=True, name="Shared")
    stranger = api.register(name="Eve")
    path = f"/templates/{public['id']}"
    assert t.get(path, as_user=stranger).status_code == 200
    listed = t.get("/templates", as_user=stranger, params={"limit": 200}).json()["data"]
    assert public["id"] in [x["id"] for x in listed]
    assert private["id"] not in [x["id"] for x in listed]
    assert t.put(path, {"name": "mine now"}, as_user=stranger).status_code == 403
    assert t.delete(path, as_user=stranger).status_code == 403
    # A stranger may use a public template in their own workspace.
    elsewhere = api.create_workspace(stranger, name="Elsewhere")
    used = t.use(public["id"], as_user=stranger, workspace_id=elsewhere["id"])
    assert used.status_code == 201
    assert t.put(path, {"name": "Shared v2"}).status_code == 200


def test_list_filters_and_cursor(t, api):
    first = t.template(name="A", category="Ops", tags=["weekly"])
    second = t.template(name="B", category="Ops", tags=["monthly"])
    member = t.member("member", "Max")
    third = t.template(as_user=member, name="C", category="Sales", tags=["weekly"])
    workspace = t.workspace["id"]

    def names(**query) -> list[str]:
        rows = t.get("/templates", params={"limit": 200, **query}).json()["data"]
        return [r["name"] for r in rows if r["workspace_id"] == workspace]

    assert names() == ["A", "B", "C"]
    assert names(category="Ops") == ["A", "B"]
    assert names(tag="weekly") == ["A", "C"]
    assert names(created_by=member["user"]["id"]) == ["C"]
    assert names(category="Ops", tag="weekly") == ["A"]
    # Cursor pages over what the caller sees (other tests' public templates included).
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = t.get("/templates", params=params).json()
        seen += [r["id"] for r in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    mine = [x for x in seen if x in {first["id"], second["id"], third["id"]}]
    assert mine == [first["id"], second["id"], third["id"]]
    assert len(seen) == len(set(seen))
    assert t.get("/templates", params={"cursor": "bad!"}).status_code == 422
    stranger = api.register(name="Eve")
    theirs = t.get("/templates", as_user=stranger, params={"limit": 200}).json()["data"]
    assert not {first["id"], second["id"], third["id"]} & {r["id"] for r in theirs}


def test_save_a_project_as_a_template(t):
    made = t.use(t.template()["id"]).json()
    project_id = made["project_id"]
    # A task with no milestone goes to a last phase.
    loose = t.post(f"/projects/{project_id}/tasks", {"title": "Loose end", "estimated_hours": 1})
    assert loose.status_code == 201
    saved = t.post(
        "/templates",
        {"workspace_id": t.workspace["id"], "name": "Saved", "from_project_id": project_id},
    )
    assert saved.status_code == 201, saved.text
    phases = saved.json()["template_data"]["phases"]
    assert [(p["name"], p["estimated_duration"]) for p in phases] == [
        ("Plan", 5),
        ("Build", 3),
        ("Ship", 2),
        ("Other tasks", 1),
    ]
    titles = [[k["title"] for k in p["tasks"]] for p in phases]
    assert titles == [
        ["Write the scope", "Estimate the work"],
        ["Write the code", "Write the docs"],
        ["Release it"],
        ["Loose end"],
    ]
    keys = {k["title"]: k["key"] for p in phases for k in p["tasks"]}
    release = phases[2]["tasks"][0]
    assert sorted(release["dependencies"]) == sorted(
        [keys["Write the code"], keys["Write the docs"]]
    )
    assert phases[1]["tasks"][0]["required_skills"] == ["python", "sql"]
    # Used from the same start date, it gives the same due dates.
    again = t.use(saved.json()["id"]).json()
    dates = [
        m["due_date"] for m in t.get(f"/projects/{again['project_id']}/milestones").json()["data"]
    ]
    assert dates == ["2030-01-10", "2030-01-15", "2030-01-17", "2030-01-18"]
    missing = t.post(
        "/templates",
        {
            "workspace_id": t.workspace["id"],
            "name": "Saved",
            "from_project_id": "00000000-0000-0000-0000-000000000000",
        },
    )
    assert missing.status_code == 404


def test_search_and_categories_are_their_own_routes(t):
    """/templates/search is not a template id: other methods are 405, naming GET."""
    for path in ("/templates/search", "/templates/categories"):
        response = t.put(path, {"name": "x"})
        assert response.status_code == 405, path
        assert response.headers["allow"] == "GET"
    assert t.get("/templates/not-a-uuid").status_code == 404
