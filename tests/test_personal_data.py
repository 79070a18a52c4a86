"""Personal data: encrypted in the log, exported on request, crypto-shredded on deletion,
and still anonymized after a rebuild of the read model."""

from __future__ import annotations

import uuid

import psycopg
from fastapi.testclient import TestClient

from domain.identity import ERASED_NAME, erased_email
from interfaces.bootstrap import open_event_store
from interfaces.http.app import create_app
from projections.rebuild import rebuild
from projections.registry import by_name
from tests.support.databases import make_settings
from tests.support.projections import caught_up, snapshot, wait_until

AUTH = "/api/v1/auth"


def scalar(database_url: str, query: str, params: tuple = ()):
    with psycopg.connect(database_url) as conn:
        return conn.execute(query, params).fetchone()[0]


def events_containing(database_url: str, text: str) -> int:
    return scalar(
        database_url,
        "SELECT count(*) FROM worksync_events WHERE position(convert_to(%s, 'UTF8') in state) > 0",
        (text,),
    )


def event_count(database_url: str, originator_id: str) -> int:
    return scalar(
        database_url,
        "SELECT count(*) FROM worksync_events WHERE originator_id = %s",
        (originator_id,),
    )


def join(client, owner: dict, workspace: dict, member: dict) -> None:
    response = client.post(
        f"/api/v1/workspaces/{workspace['id']}/members",
        json={"user_id": member["user"]["id"], "role": "member"},
        headers=owner["headers"],
    )
    assert response.status_code == 201, response.text


def test_the_log_never_holds_the_plain_email_or_name(api, client, database_url):
    marker = uuid.uuid4().hex
    email, name = f"unique-marker-{marker}@example.com", f"Marker{marker}"
    user = api.register(email=email, name=name)
    renamed = client.put(
        f"{AUTH}/me",
        json={"name": f"Renamed{marker}", "avatar_url": f"https://example.com/{marker}.png"},
        headers=user["headers"],
    )
    assert renamed.status_code == 200
    changed = client.put(
        f"{AUTH}/password",
        json={"current_password": user["password"], "new_password": "another secret"},
        headers=user["headers"],
    )
    assert changed.status_code == 204

    assert event_count(database_url, user["user"]["id"]) == 3  # the user's events are there
    for text in (email, name, name.lower(), f"unique-marker-{marker}", f"Renamed{marker}", marker):
        assert events_containing(database_url, text) == 0, text
    assert events_containing(database_url, "$2b$") == 0  # nor the bcrypt hashes
    assert events_containing(database_url, "pd1:") >= 3  # the fields are sealed instead


def test_export_holds_the_users_data_and_event_history_without_secrets(api, client):
    user = api.register(name="Exporter")
    login = client.post(
        f"{AUTH}/login", json={"email": user["user"]["email"], "password": user["password"]}
    )
    assert login.status_code == 200
    workspace = api.create_workspace(user, name="Export Co")

    response = client.get(f"{AUTH}/me/export", headers=user["headers"])
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data) >= {
        "user",
        "memberships",
        "sessions",
        "security_events",
        "activities",
        "events",
    }
    assert data["user"]["id"] == user["user"]["id"]
    assert data["user"]["email"] == user["user"]["email"]
    assert [(m["workspace_id"], m["workspace_name"], m["role"]) for m in data["memberships"]] == [
        (workspace["id"], "Export Co", "owner")
    ]
    assert len(data["sessions"]) == 2  # the sign-up's and the login's
    assert "login" in [e["kind"] for e in data["security_events"]]
    assert ("workspace", "created") in [(a["object_type"], a["action"]) for a in data["activities"]]
    [registered] = [e for e in data["events"] if e["event"] == "User.Registered"]
    assert registered["data"]["email"] == user["user"]["email"]
    assert registered["data"]["name"] == "Exporter"
    for secret in ("password_hash", "token_hash", "$2b$", user["refresh_token"]):
        assert secret not in response.text


def test_deletion_anonymizes_the_read_model_and_shreds_the_key(api, client, database_url):
    owner = api.register()
    workspace = api.create_workspace(owner)
    user = api.register(name="Leaving")
    user_id = user["user"]["id"]
    join(client, owner, workspace, user)
    assert scalar(database_url, "SELECT count(*) FROM user_keys WHERE user_id = %s", (user_id,))
    before = event_count(database_url, user_id)

    response = client.delete(f"/api/v1/users/{user_id}", headers=user["headers"])
    assert response.status_code == 204

    with psycopg.connect(database_url) as conn:
        email, name, password_hash, avatar, active, deleted_at = conn.execute(
            "SELECT email, name, password_hash, avatar_url, is_active, deleted_at FROM users"
            " WHERE id = %s",
            (user_id,),
        ).fetchone()
        members = conn.execute(
            "SELECT count(*) FROM workspace_members WHERE user_id = %s", (user_id,)
        ).fetchone()[0]
        keys = conn.execute(
            "SELECT count(*) FROM user_keys WHERE user_id = %s", (user_id,)
        ).fetchone()[0]
        sessions = conn.execute(
            "SELECT count(*) FROM user_sessions WHERE user_id = %s", (user_id,)
        ).fetchone()[0]
    assert (email, name, password_hash, avatar, active) == (
        f"deleted-{user_id}@deleted.invalid",
        "Deleted user",
        "",
        None,
        False,
    )
    assert deleted_at is not None
    assert (members, keys, sessions) == (0, 0, 0)

    assert event_count(database_url, user_id) == before + 1  # kept, plus User.Deleted
    events = list(client.app.state.container.store.events.get(uuid.UUID(user_id)))
    kinds = [type(e).__qualname__ for e in events]
    assert len(kinds) == before + 1
    assert kinds[0] == "User.Registered"
    assert kinds[-1] == "User.Deleted"
    registered = events[0]
    assert registered.email == erased_email(uuid.UUID(user_id))
    assert registered.email == f"deleted-{user_id}@deleted.invalid"
    assert registered.name == ERASED_NAME
    assert registered.password_hash == ""
    members_left = client.get(
        f"/api/v1/workspaces/{workspace['id']}/members", headers=owner["headers"]
    ).json()["data"]
    assert [m["user_id"] for m in members_left] == [owner["user"]["id"]]


def test_a_rebuild_after_a_deletion_yields_the_same_anonymized_tables(fresh_database_url):
    url = fresh_database_url
    app = create_app(make_settings(url), with_projector=True)
    with TestClient(app) as c:
        users = []
        for name in ("Keeper", "Goner"):
            body = {
                "email": f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com",
                "password": "correct horse",
                "name": name,
            }
            response = c.post(f"{AUTH}/register", json=body)
            assert response.status_code == 201, response.text
            user = response.json()
            user["headers"] = {"Authorization": f"Bearer {user['access_token']}"}
            users.append(user)
        keeper, goner = users
        created = c.post("/api/v1/workspaces", json={"name": "Shared"}, headers=keeper["headers"])
        assert created.status_code == 201, created.text
        join(c, keeper, created.json(), goner)
        gone_email = goner["user"]["email"]
        deleted = c.delete(f"/api/v1/users/{goner['user']['id']}", headers=goner["headers"])
        assert deleted.status_code == 204
        wait_until(lambda: caught_up(url))

    tables = ("users", "workspaces", "workspace_members", "activities")
    live = {t: snapshot(url, t) for t in tables}
    store = open_event_store(url, pool_size=1)  # a new key cache: keys come from the database
    try:
        for name in ("users", "workspaces", "activities"):
            rebuild(url, by_name(name), store.mapper)
    finally:
        store.close()

    assert {t: snapshot(url, t) for t in tables} == live
    assert len(live["users"]) == 2
    assert events_containing(url, gone_email) == 0
    assert events_containing(url, "Goner") == 0
    assert (
        scalar(
            url,
            "SELECT count(*) FROM users u WHERE position(%s in u::text) > 0"
            " OR position('Goner' in u::text) > 0",
            (gone_email,),
        )
        == 0
    )
    assert scalar(url, "SELECT email FROM users WHERE id = %s", (goner["user"]["id"],)) == (
        erased_email(uuid.UUID(goner["user"]["id"]))
    )
