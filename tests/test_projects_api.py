"""Projects: workspace members see them, members write, managers delete, versions guard updates;
project members come from the workspace; activity feed and analytics per project."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import psycopg
import pytest

from tests.support.authz import add_member

PROBLEM = "application/problem+json"
PROJECTS = "/api/v1/projects"


class Team:
    """A workspace with an owner, an admin, a member, a viewer and an outsider."""

    def __init__(self, api, client) -> None:
        self.client = client
        self.owner = api.register(name="Owner")
        self.workspace = api.create_workspace(self.owner)
        self.users = {"owner": self.owner}
        for role in ("admin", "member", "viewer"):
            self.users[role] = api.register(name=role.title())
            add_member(
                client, self.workspace["id"], self.owner, self.users[role]["user"]["id"], role
            )
        self.outsider = api.register(name="Outsider")

    def headers(self, role: str = "owner") -> dict[str, str]:
        return self.outsider["headers"] if role == "outsider" else self.users[role]["headers"]

    def uid(self, role: str) -> str:
        return self.outsider["user"]["id"] if role == "outsider" else self.users[role]["user"]["id"]

    def create(self, role: str = "owner", **fields) -> dict:
        body = {"workspace_id": self.workspace["id"], "name": "Apollo", **fields}
        response = self.client.post(PROJECTS, json=body, headers=self.headers(role))
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture
def team(api, client) -> Team:
    return Team(api, client)


def url(project: dict, suffix: str = "") -> str:
    return f"{PROJECTS}/{project['id']}{suffix}"


def activity_actions(client, project: dict, headers: dict) -> list[tuple[str, str]]:
    feed = client.get(url(project, "/activity"), headers=headers).json()["data"]
    return [(a["object_type"], a["action"]) for a in feed]


# Create and read ----------------------------------------------------------------------------


def test_a_new_project_has_defaults_and_post_then_get_sees_the_write(team, client):
    response = client.post(
        PROJECTS,
        json={"workspace_id": team.workspace["id"], "name": "  Apollo  "},
        headers=team.headers(),
    )
    assert response.status_code == 201
    created = response.json()
    assert created["name"] == "Apollo"
    assert (created["status"], created["priority"]) == ("planning", "medium")
    assert created["owner_id"] == team.uid("owner")
    assert created["workspace_id"] == team.workspace["id"]
    assert created["settings"] == {}
    assert created["budget"] is None
    assert created["version"] == 1
    assert response.headers["location"] == url(created)
    assert response.headers["etag"] == '"1"'
    fetched = client.get(url(created), headers=team.headers("viewer"))
    assert fetched.status_code == 200
    assert fetched.json() == created
    assert fetched.headers["etag"] == '"1"'


def test_create_with_every_field_and_another_workspace_member_as_owner(team, client):
    created = team.create(
        "member",
        description="To the moon",
        status="active",
        priority="critical",
        start_date="2025-01-01",
        end_date="2025-12-31",
        budget="1234567.5",
        owner_id=team.uid("admin"),
        settings={"color": "#ff0000"},
    )
    assert created["description"] == "To the moon"
    assert (created["status"], created["priority"]) == ("active", "critical")
    assert (created["start_date"], created["end_date"]) == ("2025-01-01", "2025-12-31")
    assert created["budget"] == "1234567.50"
    assert created["owner_id"] == team.uid("admin")
    assert created["settings"] == {"color": "#ff0000"}
    members = client.get(url(created, "/members"), headers=team.headers()).json()["data"]
    assert [(m["user_id"], m["role"]) for m in members] == [(team.uid("admin"), "owner")]


def test_budget_accepts_numbers_up_to_two_decimals_below_ten_billion(team, client):
    assert team.create(budget=0)["budget"] == "0.00"
    assert team.create(budget=19.99)["budget"] == "19.99"
    assert team.create(budget="9999999999.99")["budget"] == "9999999999.99"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "No workspace"},
        {"workspace_id": "not-a-uuid", "name": "x"},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 256},
        {"description": "x" * 10_001},
        {"status": "done"},
        {"priority": "urgent"},
        {"budget": -1},
        {"budget": "10.005"},
        {"budget": 10_000_000_000},
        {"budget": "NaN"},
        {"budget": "Infinity"},
        {"budget": "lots"},
        {"start_date": "2025-02-30"},
        {"start_date": "2025-03-01", "end_date": "2025-02-28"},
        {"settings": []},
        {"owner_id": "someone"},
        {"version": 3},
    ],
)
def test_invalid_create_payloads_are_422_with_field_errors(team, client, body):
    payload = {"workspace_id": team.workspace["id"], "name": "Valid", **body}
    if body in ({}, {"name": "No workspace"}):
        payload = body
    response = client.post(PROJECTS, json=payload, headers=team.headers())
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"]


def test_the_owner_must_be_a_member_of_the_workspace(team, client):
    for owner_id in (team.uid("outsider"), str(uuid.uuid4())):
        response = client.post(
            PROJECTS,
            json={"workspace_id": team.workspace["id"], "name": "x", "owner_id": owner_id},
            headers=team.headers(),
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        problem = response.json()
        assert "owner_id must be a member" in problem["detail"]
        assert problem["errors"][0]["field"] == "owner_id"


def test_viewers_cannot_create_and_outsiders_do_not_see_the_workspace(team, client):
    body = {"workspace_id": team.workspace["id"], "name": "x"}
    assert client.post(PROJECTS, json=body, headers=team.headers("viewer")).status_code == 403
    outsider = client.post(PROJECTS, json=body, headers=team.headers("outsider"))
    assert outsider.status_code == 404
    assert outsider.json()["detail"] == "workspace not found"
    unknown = {"workspace_id": str(uuid.uuid4()), "name": "x"}
    assert client.post(PROJECTS, json=unknown, headers=team.headers()).status_code == 404
    assert client.post(PROJECTS, json=body).status_code == 401


def test_missing_and_malformed_project_ids(team, client):
    missing = f"{PROJECTS}/{uuid.uuid4()}"
    assert client.get(missing, headers=team.headers()).status_code == 404
    assert client.put(missing, json={"name": "x"}, headers=team.headers()).status_code == 404
    assert client.delete(missing, headers=team.headers()).status_code == 404
    for suffix in ("", "/members", "/activity", "/analytics"):
        assert client.get(f"{missing}{suffix}", headers=team.headers()).status_code == 404
    assert client.get(f"{PROJECTS}/not-a-uuid", headers=team.headers()).status_code == 422


# List ---------------------------------------------------------------------------------------


def test_list_shows_the_projects_of_the_callers_workspaces_only(api, team, client):
    mine = team.create(name="Mine")
    other_owner = api.register()
    other_ws = api.create_workspace(other_owner)
    theirs = client.post(
        PROJECTS,
        json={"workspace_id": other_ws["id"], "name": "Theirs"},
        headers=other_owner["headers"],
    ).json()
    ids = {p["id"] for p in client.get(PROJECTS, headers=team.headers("viewer")).json()["data"]}
    assert mine["id"] in ids
    assert theirs["id"] not in ids
    assert client.get(PROJECTS, headers=team.headers("outsider")).json()["data"] == []
    assert client.get(PROJECTS).status_code == 401


def test_list_across_workspaces_and_filtered_by_workspace_and_status(api, team, client):
    second_ws = api.create_workspace(team.owner, name="Second")
    a = team.create(name="A", status="active")
    b = team.create(name="B")
    c = client.post(
        PROJECTS,
        json={"workspace_id": second_ws["id"], "name": "C", "status": "active"},
        headers=team.headers(),
    ).json()

    def names(**params) -> list[str]:
        response = client.get(PROJECTS, params=params, headers=team.headers())
        assert response.status_code == 200
        return [p["name"] for p in response.json()["data"]]

    assert {"A", "B", "C"} <= set(names())
    assert names(workspace_id=team.workspace["id"]) == [a["name"], b["name"]]
    assert names(workspace_id=second_ws["id"], status="active") == [c["name"]]
    assert names(workspace_id=team.workspace["id"], status="active") == ["A"]
    assert names(workspace_id=team.workspace["id"], status="cancelled") == []
    assert names(workspace_id=str(uuid.uuid4())) == []
    for params in ({"status": "done"}, {"workspace_id": "nope"}, {"limit": 0}, {"cursor": "%%"}):
        assert client.get(PROJECTS, params=params, headers=team.headers()).status_code == 422


def test_cursor_pagination_walks_every_project_once(team, client):
    created = [team.create(name=f"P{i}")["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {
            "limit": 2,
            "workspace_id": team.workspace["id"],
            **({"cursor": cursor} if cursor else {}),
        }
        page = client.get(PROJECTS, params=params, headers=team.headers()).json()
        assert len(page["data"]) <= 2
        seen.extend(p["id"] for p in page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == created


# Update -------------------------------------------------------------------------------------


def test_partial_update_changes_only_the_fields_sent_and_null_clears(team, client):
    project = team.create(description="Old", budget="10.00", start_date="2025-01-01")
    response = client.put(
        url(project),
        json={"name": "Renamed", "priority": "high", "budget": None, "settings": {"a": 1}},
        headers=team.headers("member"),
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["priority"], body["budget"]) == ("Renamed", "high", None)
    assert (body["description"], body["start_date"]) == ("Old", "2025-01-01")
    assert body["settings"] == {"a": 1}
    assert body["version"] == 2
    assert response.headers["etag"] == '"2"'
    cleared = client.put(
        url(project), json={"description": None, "budget": "99.5"}, headers=team.headers()
    ).json()
    assert (cleared["description"], cleared["budget"]) == (None, "99.50")
    assert client.get(url(project), headers=team.headers()).json() == cleared


def test_a_status_change_is_recorded_as_its_own_event(team, client):
    project = team.create()
    response = client.put(
        url(project), json={"status": "active", "name": "Go"}, headers=team.headers()
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["version"]) == ("active", 3)
    assert activity_actions(client, project, team.headers()) == [
        ("project", "status_changed"),
        ("project", "updated"),
        ("project", "created"),
    ]
    feed = client.get(url(project, "/activity"), headers=team.headers()).json()["data"]
    assert feed[0]["details"] == {"old_status": "planning", "status": "active"}
    assert feed[1]["details"] == {"changes": {"name": "Go"}}
    only_status = client.put(url(project), json={"status": "on_hold"}, headers=team.headers())
    assert only_status.json()["status"] == "on_hold"
    assert activity_actions(client, project, team.headers())[0] == ("project", "status_changed")


def test_update_with_nothing_changed_records_no_new_version(team, client):
    project = team.create(status="active")
    for body in ({}, {"name": "Apollo", "status": "active"}):
        response = client.put(url(project), json=body, headers=team.headers())
        assert response.status_code == 200
        assert response.json()["version"] == 1


def test_if_match_with_a_stale_version_is_412_and_changes_nothing(team, client):
    project = team.create()
    headers = {**team.headers(), "If-Match": '"1"'}
    assert client.put(url(project), json={"name": "First"}, headers=headers).status_code == 200
    stale = client.put(url(project), json={"name": "Second"}, headers=headers)
    assert stale.status_code == 412
    assert stale.headers["content-type"] == PROBLEM
    assert stale.json()["current_version"] == 2
    assert client.delete(url(project), headers=headers).status_code == 412
    assert client.get(url(project), headers=team.headers()).json()["name"] == "First"
    garbage = {**team.headers(), "If-Match": "abc"}
    assert client.put(url(project), json={"name": "x"}, headers=garbage).status_code == 422
    current = {**team.headers(), "If-Match": 'W/"2"'}
    assert client.put(url(project), json={"name": "Third"}, headers=current).status_code == 200


def test_end_date_before_start_date_is_422_in_one_body_and_409_against_the_stored_dates(
    team, client
):
    project = team.create(start_date="2025-03-01", end_date="2025-03-31")
    both = client.put(
        url(project),
        json={"start_date": "2025-05-01", "end_date": "2025-04-01"},
        headers=team.headers(),
    )
    assert both.status_code == 422
    clash = client.put(url(project), json={"end_date": "2025-02-01"}, headers=team.headers())
    assert clash.status_code == 409
    assert clash.headers["content-type"] == PROBLEM
    assert "end_date must not be before start_date" in clash.json()["detail"]
    moved = client.put(
        url(project),
        json={"start_date": "2025-01-01", "end_date": "2025-02-01"},
        headers=team.headers(),
    )
    assert moved.status_code == 200
    assert (
        client.put(url(project), json={"start_date": None}, headers=team.headers()).json()[
            "start_date"
        ]
        is None
    )


@pytest.mark.parametrize(
    "body",
    [
        {"name": None},
        {"name": ""},
        {"status": None},
        {"status": "finished"},
        {"priority": None},
        {"owner_id": None},
        {"settings": None},
        {"budget": "-0.01"},
        {"workspace_id": str(uuid.uuid4())},
        {"unknown": 1},
    ],
)
def test_invalid_update_payloads_are_422(team, client, body):
    project = team.create()
    response = client.put(url(project), json=body, headers=team.headers())
    assert response.status_code == 422, response.text
    assert response.json()["errors"]


def test_ownership_moves_only_to_a_workspace_member(team, client):
    project = team.create()
    moved = client.put(url(project), json={"owner_id": team.uid("member")}, headers=team.headers())
    assert moved.status_code == 200
    assert moved.json()["owner_id"] == team.uid("member")
    refused = client.put(
        url(project), json={"owner_id": team.uid("outsider")}, headers=team.headers()
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "owner_id"


# Roles --------------------------------------------------------------------------------------


def test_viewers_read_everything_but_cannot_write(team, client):
    project = team.create()
    viewer = team.headers("viewer")
    for suffix in ("", "/members", "/activity", "/analytics"):
        assert client.get(url(project, suffix), headers=viewer).status_code == 200, suffix
    for response in (
        client.put(url(project), json={"name": "x"}, headers=viewer),
        client.delete(url(project), headers=viewer),
        client.post(url(project, "/members"), json={"user_id": team.uid("member")}, headers=viewer),
        client.delete(url(project, f"/members/{team.uid('owner')}"), headers=viewer),
    ):
        assert response.status_code == 403
        assert response.headers["content-type"] == PROBLEM


def test_members_may_update_but_only_owners_and_admins_delete(team, client):
    project = team.create()
    assert (
        client.put(url(project), json={"name": "M"}, headers=team.headers("member")).status_code
        == 200
    )
    assert client.delete(url(project), headers=team.headers("member")).status_code == 403
    assert client.delete(url(project), headers=team.headers("admin")).status_code == 204


def test_an_outsider_gets_404_everywhere(team, client):
    project = team.create()
    outsider = team.headers("outsider")
    for response in (
        client.get(url(project), headers=outsider),
        client.put(url(project), json={"name": "Mine"}, headers=outsider),
        client.delete(url(project), headers=outsider),
        client.get(url(project, "/members"), headers=outsider),
        client.post(
            url(project, "/members"), json={"user_id": team.uid("outsider")}, headers=outsider
        ),
        client.delete(url(project, f"/members/{team.uid('owner')}"), headers=outsider),
        client.get(url(project, "/activity"), headers=outsider),
        client.get(url(project, "/analytics"), headers=outsider),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM
    assert client.get(url(project), headers=team.headers()).json()["name"] == "Apollo"


def test_a_member_who_leaves_the_workspace_no_longer_sees_its_projects(team, client):
    project = team.create()
    leave = f"/api/v1/workspaces/{team.workspace['id']}/members/{team.uid('member')}"
    assert client.delete(leave, headers=team.headers("member")).status_code == 204
    assert client.get(url(project), headers=team.headers("member")).status_code == 404


def test_deleting_the_workspace_hides_its_projects(team, client):
    project = team.create()
    ws = f"/api/v1/workspaces/{team.workspace['id']}"
    assert client.delete(ws, headers=team.headers()).status_code == 204
    assert client.get(url(project), headers=team.headers()).status_code == 404
    assert client.put(url(project), json={"name": "x"}, headers=team.headers()).status_code == 404


# Delete -------------------------------------------------------------------------------------


def test_delete_removes_the_project_and_its_member_rows(team, client, database_url):
    project = team.create()
    client.post(
        url(project, "/members"), json={"user_id": team.uid("member")}, headers=team.headers()
    )
    assert client.delete(url(project), headers=team.headers()).status_code == 204
    assert client.get(url(project), headers=team.headers()).status_code == 404
    assert client.delete(url(project), headers=team.headers()).status_code == 404
    assert client.put(url(project), json={"name": "x"}, headers=team.headers()).status_code == 404
    listed = client.get(
        PROJECTS, params={"workspace_id": team.workspace["id"]}, headers=team.headers()
    )
    assert listed.json()["data"] == []
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT (SELECT count(*) FROM projects WHERE id = %s),"
            " (SELECT count(*) FROM project_members WHERE project_id = %s)",
            (project["id"], project["id"]),
        ).fetchone()
    assert rows == (0, 0)


# Members ------------------------------------------------------------------------------------


def test_the_owner_is_the_first_member_and_workspace_members_can_join(team, client):
    project = team.create()
    added = client.post(
        url(project, "/members"),
        json={"user_id": team.uid("viewer"), "role": " Reviewer "},
        headers=team.headers("member"),
    )
    assert added.status_code == 201
    body = added.json()
    assert (body["user_id"], body["role"], body["name"]) == (
        team.uid("viewer"),
        "Reviewer",
        "Viewer",
    )
    no_role = client.post(
        url(project, "/members"), json={"user_id": team.uid("admin")}, headers=team.headers()
    )
    assert no_role.status_code == 201
    assert no_role.json()["role"] is None
    members = client.get(url(project, "/members"), headers=team.headers("viewer")).json()["data"]
    assert [(m["user_id"], m["role"]) for m in members] == [
        (team.uid("owner"), "owner"),
        (team.uid("viewer"), "Reviewer"),
        (team.uid("admin"), None),
    ]
    assert client.get(url(project), headers=team.headers()).json()["version"] == 3


def test_a_project_member_must_be_a_member_of_the_workspace(team, client):
    project = team.create()
    for user_id in (team.uid("outsider"), str(uuid.uuid4())):
        response = client.post(
            url(project, "/members"), json={"user_id": user_id}, headers=team.headers()
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        problem = response.json()
        assert problem["detail"] == "user_id must be a member of the project's workspace"
        assert problem["errors"] == [
            {"field": "user_id", "message": problem["detail"], "type": "not_workspace_member"}
        ]
    members = client.get(url(project, "/members"), headers=team.headers()).json()["data"]
    assert len(members) == 1


def test_adding_an_existing_member_is_409_and_removing_a_stranger_is_404(team, client):
    project = team.create()
    members = url(project, "/members")
    body = {"user_id": team.uid("member")}
    assert client.post(members, json=body, headers=team.headers()).status_code == 201
    again = client.post(members, json=body, headers=team.headers())
    assert again.status_code == 409
    assert "already a member" in again.json()["detail"]
    gone = client.delete(f"{members}/{team.uid('member')}", headers=team.headers("member"))
    assert gone.status_code == 204
    missing = client.delete(f"{members}/{team.uid('member')}", headers=team.headers())
    assert missing.status_code == 404
    assert client.delete(f"{members}/{uuid.uuid4()}", headers=team.headers()).status_code == 404
    assert client.delete(f"{members}/nope", headers=team.headers()).status_code == 422
    ids = [m["user_id"] for m in client.get(members, headers=team.headers()).json()["data"]]
    assert ids == [team.uid("owner")]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"user_id": "x"},
        {"user_id": None},
        {"role": "QA"},
        {"user_id": "USER", "role": "x" * 101},
        {"user_id": "USER", "role": ""},
        {"user_id": "USER", "extra": 1},
    ],
)
def test_invalid_member_payloads_are_422(team, client, body):
    project = team.create()
    body = {k: (team.uid("member") if v == "USER" else v) for k, v in body.items()}
    response = client.post(url(project, "/members"), json=body, headers=team.headers())
    assert response.status_code == 422, response.text
    assert response.json()["errors"]


def test_member_list_pagination_walks_every_member_once(team, client):
    project = team.create()
    for role in ("admin", "member", "viewer"):
        client.post(
            url(project, "/members"), json={"user_id": team.uid(role)}, headers=team.headers()
        )
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(url(project, "/members"), params=params, headers=team.headers()).json()
        seen.extend(m["user_id"] for m in page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [team.uid(r) for r in ("owner", "admin", "member", "viewer")]


# Activity -----------------------------------------------------------------------------------


def test_project_activity_is_the_projects_feed_newest_first(team, client):
    project = team.create()
    other = team.create(name="Other")
    client.put(url(project), json={"name": "Renamed"}, headers=team.headers("member"))
    client.post(
        url(project, "/members"), json={"user_id": team.uid("viewer")}, headers=team.headers()
    )
    client.delete(url(project, f"/members/{team.uid('viewer')}"), headers=team.headers())
    client.put(url(other), json={"name": "Elsewhere"}, headers=team.headers())
    feed = client.get(url(project, "/activity"), headers=team.headers("viewer")).json()
    assert feed["next_cursor"] is None
    items = feed["data"]
    assert [(a["object_type"], a["action"]) for a in items] == [
        ("project", "member_removed"),
        ("project", "member_added"),
        ("project", "updated"),
        ("project", "created"),
    ]
    assert {a["project_id"] for a in items} == {project["id"]}
    assert {a["object_id"] for a in items} == {project["id"]}
    assert {a["workspace_id"] for a in items} == {team.workspace["id"]}
    assert items[2]["user_id"] == team.uid("member")
    assert items[3]["user_id"] == team.uid("owner")
    positions = [a["position"] for a in items]
    assert positions == sorted(positions, reverse=True)


def test_project_activity_pagination_walks_the_feed_once(team, client):
    project = team.create()
    for i in range(4):
        client.put(url(project), json={"name": f"N{i}"}, headers=team.headers())
    whole = client.get(url(project, "/activity"), headers=team.headers()).json()["data"]
    assert len(whole) == 5
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(url(project, "/activity"), params=params, headers=team.headers()).json()
        seen.extend(a["id"] for a in page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [a["id"] for a in whole]
    bad = client.get(url(project, "/activity"), params={"cursor": "!!"}, headers=team.headers())
    assert bad.status_code == 422


# Analytics ----------------------------------------------------------------------------------


def _iso_week(moment: datetime) -> str:
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def test_analytics_of_an_empty_project_are_zeros_over_twelve_weeks(team, client):
    project = team.create()
    response = client.get(url(project, "/analytics"), headers=team.headers("viewer"))
    assert response.status_code == 200
    body = response.json()
    assert body["project_id"] == project["id"]
    for kind in ("cards", "tasks"):
        stats = body[kind]
        assert (stats["total"], stats["done"], stats["overdue"]) == (0, 0, 0)
        assert set(stats["by_priority"].values()) == {0}
    assert body["tasks"]["by_status"] == dict.fromkeys(
        ("todo", "in_progress", "review", "done", "cancelled"), 0
    )
    assert body["cards"]["by_status"] == {"open": 0, "done": 0}
    weeks = body["done_per_week"]
    assert len(weeks) == 12
    assert weeks[-1]["week"] == _iso_week(datetime.now(UTC))
    starts = [date.fromisoformat(w["week_start"]) for w in weeks]
    assert all(s.isoweekday() == 1 for s in starts)
    assert [b - a for a, b in pairwise(starts)] == [timedelta(days=7)] * 11
    assert body["hours"] == {"estimated": 0, "actual": 0}


def _seed_board(conn, project: dict, now: datetime) -> None:
    """Cards and tasks for the project, written straight into the read tables."""
    ws, pid = project["workspace_id"], project["id"]
    board, todo, done = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    conn.execute(
        "INSERT INTO kanban_boards (id, workspace_id, project_id, name, created_at, updated_at)"
        " VALUES (%s, %s, %s, 'Board', %s, %s)",
        (board, ws, pid, now, now),
    )
    for column, position, is_done in ((todo, 0, False), (done, 1, True)):
        conn.execute(
            "INSERT INTO kanban_columns (id, workspace_id, board_id, name, position, rank,"
            " is_done_column, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (column, ws, board, f"C{position}", position, f"a{position}", is_done, now, now),
        )
    day = timedelta(days=1)
    cards = [  # column, priority, due, estimated, actual, completed_at
        (todo, "high", now - day, "2.50", "1.00", None),  # overdue
        (todo, "high", now + day, "1.00", None, None),
        (done, "low", now - day, "4.00", "5.25", now - 3 * day),  # done, so not overdue
        (done, "urgent", None, None, None, now - 20 * day),
        (done, "medium", None, None, None, now - 100 * day),  # before the 12 weeks
        (done, "medium", None, None, None, None),  # done, completion time unknown
    ]
    for i, (column, priority, due, est, act, completed) in enumerate(cards):
        conn.execute(
            "INSERT INTO kanban_cards (id, workspace_id, project_id, board_id, column_id, title,"
            " rank, priority, due_date, estimated_hours, actual_hours, completed_at,"
            " created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " %s, %s)",
            (
                uuid.uuid4(),
                ws,
                pid,
                board,
                column,
                f"Card {i}",
                f"a{i}",
                priority,
                due,
                est,
                act,
                completed,
                now,
                now,
            ),
        )
    tasks = [  # status, priority, due, estimated, actual, completed_at
        ("todo", "high", now - day, "3.00", "0", None),  # overdue
        ("in_progress", "urgent", now - 2 * day, "5.00", "2.50", None),  # overdue
        ("done", "low", now - day, "1.00", "1.50", now - 3 * day),
        ("cancelled", "medium", now - day, None, "0", None),  # cancelled: not overdue
        ("review", "medium", None, None, "0", None),
        ("done", "medium", None, None, "0", now - 20 * day),
    ]
    for i, (status, priority, due, est, act, completed) in enumerate(tasks):
        conn.execute(
            "INSERT INTO tasks (id, workspace_id, project_id, title, status, priority, due_date,"
            " estimated_hours, actual_hours, completed_at, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                uuid.uuid4(),
                ws,
                pid,
                f"Task {i}",
                status,
                priority,
                due,
                est,
                act,
                completed,
                now,
                now,
            ),
        )


def test_analytics_count_cards_and_tasks_by_status_priority_overdue_week_and_hours(
    team, client, database_url
):
    project, other = team.create(), team.create(name="Other")
    now = datetime.now(UTC)
    with psycopg.connect(database_url) as conn:
        _seed_board(conn, project, now)
        _seed_board(conn, other, now)  # another project's rows are not counted
    body = client.get(url(project, "/analytics"), headers=team.headers()).json()
    cards, tasks = body["cards"], body["tasks"]
    assert (cards["total"], cards["done"], cards["overdue"]) == (6, 4, 1)
    assert cards["by_status"] == {"open": 2, "done": 4}
    assert cards["by_priority"] == {"low": 1, "medium": 2, "high": 2, "urgent": 1}
    assert (cards["estimated_hours"], cards["actual_hours"]) == (7.5, 6.25)
    assert (tasks["total"], tasks["done"], tasks["overdue"]) == (6, 2, 2)
    assert tasks["by_status"] == {
        "todo": 1,
        "in_progress": 1,
        "review": 1,
        "done": 2,
        "cancelled": 1,
    }
    assert tasks["by_priority"] == {"low": 1, "medium": 3, "high": 1, "urgent": 1}
    assert (tasks["estimated_hours"], tasks["actual_hours"]) == (9.0, 4.0)
    assert body["hours"] == {"estimated": 16.5, "actual": 10.25}
    weeks = {w["week"]: (w["cards"], w["tasks"]) for w in body["done_per_week"]}
    expected: dict[str, list[int]] = {week: [0, 0] for week in weeks}
    for ago in (3, 20):
        expected[_iso_week(now - timedelta(days=ago))][0] += 1
        expected[_iso_week(now - timedelta(days=ago))][1] += 1
    assert weeks == {week: tuple(n) for week, n in expected.items()}
    assert _iso_week(now - timedelta(days=100)) not in weeks
