"""Notifications through the API: each trigger reaches the people it concerns (never the
actor), listing (unread first or by time, filters, pages, the unread count), marking read,
deleting, preferences; only the recipient sees or touches a notification."""

from __future__ import annotations

import uuid

import pytest

from tests.support.notifications import (
    Team,
    inbox,
    make_team,
    settle,
    types_of,
    uid,
    wait_for_inbox,
)


@pytest.fixture
def team(api, client) -> Team:
    return make_team(api, client)


def has(kind: str, count: int = 1):
    return lambda page: types_of(page).count(kind) >= count


def card(client, team: Team, by: dict, **fields) -> dict:
    response = client.post(
        f"/api/v1/columns/{team.todo}/cards",
        json={"title": "Card", **fields},
        headers=by["headers"],
    )
    assert response.status_code == 201, response.text
    return response.json()


def task(client, team: Team, by: dict, **fields) -> dict:
    response = client.post(
        f"/api/v1/projects/{team.project_id}/tasks",
        json={"title": "Task", **fields},
        headers=by["headers"],
    )
    assert response.status_code == 201, response.text
    return response.json()


def comment(client, path: str, by: dict, content: str, **extra) -> dict:
    response = client.post(path, json={"content": content, **extra}, headers=by["headers"])
    assert response.status_code == 201, response.text
    return response.json()


def test_assigning_a_card_or_task_notifies_the_assignee_not_the_actor(client, team, settings):
    made = card(client, team, team.ann, title="Write specs", assignee_id=uid(team.bob))
    page = wait_for_inbox(client, team.bob, has("assigned"))
    [note] = page["data"]
    assert note["title"] == "You were assigned the card “Write specs”"
    assert note["data"]["card_id"] == made["id"]
    assert note["data"]["actor_id"] == uid(team.ann)
    assert note["workspace_id"] == team.workspace_id
    assert note["user_id"] == uid(team.bob)
    assert (note["is_read"], note["read_at"]) == (False, None)
    assert page["unread_count"] == 1

    made_task = task(client, team, team.ann, title="Review")
    response = client.put(
        f"/api/v1/tasks/{made_task['id']}",
        json={"assignee_id": uid(team.cid)},
        headers=team.ann["headers"],
    )
    assert response.status_code == 200, response.text
    page = wait_for_inbox(client, team.cid, has("assigned"))
    assert page["data"][0]["title"] == "You were assigned the task “Review”"
    assert page["data"][0]["data"]["task_id"] == made_task["id"]

    # Assigning oneself notifies nobody.
    card(client, team, team.bob, title="Mine", assignee_id=uid(team.bob))
    settle(settings.database_url)
    assert types_of(inbox(client, team.bob)) == ["assigned"]
    assert inbox(client, team.ann)["data"] == []


def test_mentions_by_handle_or_email_reach_members_only(client, team, settings):
    made = card(client, team, team.ann)
    bob_handle = team.bob["user"]["email"].split("@")[0]
    content = (
        f"<p>@{bob_handle} and @{team.cid['user']['email']}, also @{team.eve['user']['email']}"
        " and @nobody</p>"
    )
    posted = comment(client, f"/api/v1/cards/{made['id']}/comments", team.ann, content)
    for user in (team.bob, team.cid):
        page = wait_for_inbox(client, user, has("mention"))
        note = page["data"][0]
        assert note["title"] == "You were mentioned on “Card”"
        assert note["data"]["comment_id"] == posted["id"]
        assert note["message"].startswith("@")
    settle(settings.database_url)
    assert inbox(client, team.eve)["data"] == []  # not a member of the workspace
    assert inbox(client, team.ann)["data"] == []  # the author


def test_comments_reach_the_creator_and_assignee_and_replies_the_parent_author(
    client, team, settings
):
    made = task(client, team, team.bob, title="Ship it", assignee_id=uid(team.cid))
    wait_for_inbox(client, team.cid, has("assigned"))
    path = f"/api/v1/tasks/{made['id']}/comments"
    first = comment(client, path, team.ann, "Looks good")
    for user in (team.bob, team.cid):
        page = wait_for_inbox(client, user, has("comment"))
        assert page["data"][0]["title"] == "A new comment on “Ship it”"
        assert page["data"][0]["message"] == "Looks good"

    # Bob replies to Ann: Ann hears of the reply; Cid (assignee) of a comment; Bob nothing.
    comment(client, path, team.bob, "Thanks", parent_comment_id=first["id"])
    assert wait_for_inbox(client, team.ann, has("reply"))["data"][0]["data"]["parent_comment_id"]
    wait_for_inbox(client, team.cid, has("comment", 2))
    settle(settings.database_url)
    assert types_of(inbox(client, team.bob)) == ["comment"]

    # One notification per person per event: a mention of the assignee wins over "comment".
    cid_handle = team.cid["user"]["email"].split("@")[0]
    comment(client, path, team.ann, f"@{cid_handle} please check")
    wait_for_inbox(client, team.cid, has("mention"))
    settle(settings.database_url)
    assert types_of(inbox(client, team.cid)).count("comment") == 2


def test_being_added_to_a_workspace_or_project(client, api, team):
    dan = api.register(name="Dan")
    response = client.post(
        f"/api/v1/workspaces/{team.workspace_id}/members",
        json={"user_id": uid(dan), "role": "member"},
        headers=team.ann["headers"],
    )
    assert response.status_code == 201, response.text
    page = wait_for_inbox(client, dan, has("workspace_added"))
    assert page["data"][0]["title"] == "You were added to the workspace “Notified”"
    assert page["data"][0]["data"]["role"] == "member"
    response = client.post(
        f"/api/v1/projects/{team.project_id}/members",
        json={"user_id": uid(dan)},
        headers=team.ann["headers"],
    )
    assert response.status_code == 201, response.text
    page = wait_for_inbox(client, dan, has("project_added"))
    assert page["data"][0]["data"]["project_id"] == team.project_id


def test_listing_orders_filters_pages_and_counts(client, team):
    for n in range(5):
        card(client, team, team.ann, title=f"C{n}", assignee_id=uid(team.bob))
    page = wait_for_inbox(client, team.bob, has("assigned", 5))
    ids = [n["id"] for n in page["data"]]  # newest first among the unread
    titles = [n["title"] for n in page["data"]]
    assert titles == [f"You were assigned the card “C{n}”" for n in range(4, -1, -1)]
    oldest = ids[-1]
    read = client.put(f"/api/v1/notifications/{oldest}/read", headers=team.bob["headers"])
    assert read.status_code == 200, read.text
    assert read.json()["is_read"] is True
    assert read.json()["read_at"]

    by_time = inbox(client, team.bob, order="time")
    assert [n["id"] for n in by_time["data"]] == ids
    assert by_time["unread_count"] == 4
    assert [n["id"] for n in inbox(client, team.bob, is_read="true")["data"]] == [oldest]
    assert len(inbox(client, team.bob, is_read="false")["data"]) == 4
    assert inbox(client, team.bob, type="mention")["data"] == []

    # An older one read: unread first puts it last; pages walk every row once.
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = inbox(client, team.bob, **params)
        seen += [n["id"] for n in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids  # the read one was the oldest: same order here
    time_pages = inbox(client, team.bob, order="time", limit=3)
    rest = inbox(client, team.bob, order="time", limit=3, cursor=time_pages["next_cursor"])
    assert [n["id"] for n in time_pages["data"] + rest["data"]] == ids


def test_mark_all_read_and_delete(client, team):
    for n in range(3):
        card(client, team, team.ann, title=f"D{n}", assignee_id=uid(team.bob))
    page = wait_for_inbox(client, team.bob, has("assigned", 3))
    marked = client.put("/api/v1/notifications/mark-all-read", headers=team.bob["headers"])
    assert marked.status_code == 200, marked.text
    assert marked.json() == {"marked": 3, "unread_count": 0}
    again = client.put("/api/v1/notifications/mark-all-read", headers=team.bob["headers"])
    assert again.json() == {"marked": 0, "unread_count": 0}
    assert all(n["is_read"] for n in inbox(client, team.bob)["data"])
    # Marking one already read again is fine.
    first = page["data"][0]["id"]
    assert (
        client.put(f"/api/v1/notifications/{first}/read", headers=team.bob["headers"]).status_code
        == 200
    )

    gone = client.delete(f"/api/v1/notifications/{first}", headers=team.bob["headers"])
    assert gone.status_code == 204
    assert first not in [n["id"] for n in inbox(client, team.bob)["data"]]
    again = client.delete(f"/api/v1/notifications/{first}", headers=team.bob["headers"])
    assert again.status_code == 404


def test_only_the_recipient_sees_or_touches_a_notification(client, team):
    card(client, team, team.ann, assignee_id=uid(team.bob))
    note = wait_for_inbox(client, team.bob, has("assigned"))["data"][0]["id"]
    for other in (team.ann, team.cid, team.eve):
        assert note not in [n["id"] for n in inbox(client, other)["data"]]
        for method, path in (
            ("PUT", f"/api/v1/notifications/{note}/read"),
            ("DELETE", f"/api/v1/notifications/{note}"),
        ):
            response = client.request(method, path, headers=other["headers"])
            assert response.status_code == 404, response.text
            assert response.headers["content-type"] == "application/problem+json"
    assert inbox(client, team.bob)["unread_count"] == 1
    for method, path in (
        ("GET", "/api/v1/notifications"),
        ("PUT", f"/api/v1/notifications/{note}/read"),
        ("PUT", "/api/v1/notifications/mark-all-read"),
        ("DELETE", f"/api/v1/notifications/{note}"),
    ):
        assert client.request(method, path).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "nonsense"}, "type"),
        ({"is_read": "maybe"}, "is_read"),
        ({"order": "random"}, "order"),
        ({"limit": 0}, "limit"),
        ({"cursor": "%%%"}, "cursor"),
    ],
)
def test_bad_list_parameters_are_422(client, team, params, field):
    response = client.get("/api/v1/notifications", params=params, headers=team.bob["headers"])
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.text


def test_cursors_are_checked_and_ids_must_be_uuids(client, team):
    from interfaces.http.pagination import encode_cursor

    for bad in (encode_cursor(7, "2024-01-01T00:00:00+00:00", uuid.uuid4()), encode_cursor(1)):
        response = client.get(
            "/api/v1/notifications", params={"cursor": bad}, headers=team.bob["headers"]
        )
        assert response.status_code == 422, response.text
    # A time-ordered cursor continues among the unread in the default order.
    late = encode_cursor("2000-01-01T00:00:00+00:00", uuid.uuid4())
    page = inbox(client, team.bob, cursor=late)
    assert page["data"] == []
    assert (
        client.put("/api/v1/notifications/not-a-uuid/read", headers=team.bob["headers"]).status_code
        == 404
    )
    # A method a path does not have is 405, listing the ones it has.
    for path, allow in (
        ("/api/v1/notifications/preferences", "GET, PUT"),
        ("/api/v1/notifications/mark-all-read", "PUT"),
    ):
        response = client.delete(path, headers=team.bob["headers"])
        assert response.status_code == 405, response.text
        assert response.headers["allow"] == allow


def test_preferences_decide_what_arrives(client, team, settings):
    defaults = client.get("/api/v1/notifications/preferences", headers=team.bob["headers"])
    assert defaults.status_code == 200
    assert defaults.json()["digest"] == "daily"
    assert all(defaults.json()["in_app"].values())
    changed = client.put(
        "/api/v1/notifications/preferences",
        json={"in_app": {"assigned": False}, "email": {"mention": False}, "digest": "hourly"},
        headers=team.bob["headers"],
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["in_app"]["assigned"] is False
    assert body["in_app"]["mention"] is True
    assert body["email"]["mention"] is False
    assert body["digest"] == "hourly"
    assert (
        client.get("/api/v1/notifications/preferences", headers=team.bob["headers"]).json() == body
    )

    card(client, team, team.ann, assignee_id=uid(team.bob))
    bob_handle = team.bob["user"]["email"].split("@")[0]
    made = card(client, team, team.ann)
    comment(client, f"/api/v1/cards/{made['id']}/comments", team.ann, f"@{bob_handle}")
    page = wait_for_inbox(client, team.bob, has("mention"))
    settle(settings.database_url)
    assert types_of(inbox(client, team.bob)) == ["mention"]  # assignments are off in-app
    assert inbox(client, team.bob)["unread_count"] == 1
    assert page["data"][0]["type"] == "mention"


@pytest.mark.parametrize(
    "body",
    [
        {"digest": "weekly"},
        {"in_app": {"nonsense": True}},
        {"in_app": {"assigned": "yes"}},
        {"in_app": None},
        {"email": {"assigned": None}},
        {"colour": "blue"},
    ],
)
def test_bad_preferences_are_422(client, team, body):
    response = client.put(
        "/api/v1/notifications/preferences", json=body, headers=team.bob["headers"]
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_the_unsubscribe_link_needs_its_token(client, team, settings):
    from application.mail import LinkTokens

    user_id = uid(team.bob)
    token = LinkTokens(settings.jwt_refresh_secret).token("unsubscribe", uuid.UUID(user_id))
    link = f"/api/v1/notifications/unsubscribe/{token}"
    for method in ("GET", "POST"):
        wrong = client.request(
            method, f"/api/v1/notifications/unsubscribe/{'x' * 43}", params={"user_id": user_id}
        )
        assert wrong.status_code == 404
        assert wrong.headers["content-type"] == "application/problem+json"
        other = client.request(method, link, params={"user_id": uid(team.cid)})
        assert other.status_code == 404
        short = client.request(
            method, "/api/v1/notifications/unsubscribe/abc", params={"user_id": user_id}
        )
        assert short.status_code == 422

    # Following the link (a person, or a mail scanner opening links) only asks.
    page = client.get(link, params={"user_id": user_id})
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "form-action 'self'" in page.headers["content-security-policy"]
    action = f'<form method="post" action="{link}?user_id={user_id}">'
    assert action in page.text
    prefs = client.get("/api/v1/notifications/preferences", headers=team.bob["headers"]).json()
    assert prefs["digest"] != "off"

    # The form, or a mail client's RFC 8058 one-click POST, unsubscribes.
    done = client.post(
        link,
        params={"user_id": user_id},
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200, done.text
    assert done.json() == {"digest": "off"}
    prefs = client.get("/api/v1/notifications/preferences", headers=team.bob["headers"]).json()
    assert prefs["digest"] == "off"
