"""Profiles and account administration: /auth/me, /users, deactivation and deletion."""

from __future__ import annotations

import time
import uuid

import pytest

from domain.identity import User

PROBLEM = "application/problem+json"
AUTH = "/api/v1/auth"
USERS = "/api/v1/users"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client, user: dict, password: str | None = None):
    return client.post(
        f"{AUTH}/login",
        json={"email": user["user"]["email"], "password": password or user["password"]},
    )


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    return body


def make_admin(client, user: dict) -> dict:
    """Bootstrap an administrator through the domain (no admin exists to promote anyone)."""
    store = client.app.state.container.store
    user_id = uuid.UUID(user["user"]["id"])
    aggregate = store.load(User, user_id)
    aggregate.update_profile(actor_id=user_id, role="admin")
    store.save(aggregate)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if client.get(f"{AUTH}/me", headers=user["headers"]).json()["role"] == "admin":
            return user
        time.sleep(0.05)
    raise AssertionError("the projector did not show the admin role in time")


@pytest.fixture
def admin(api, client) -> dict:
    return make_admin(client, api.register(name="Admin"))


def test_put_me_changes_name_and_avatar_url(api, client):
    user = api.register(name="Before")
    response = client.put(
        f"{AUTH}/me",
        json={"name": "After", "avatar_url": "https://example.com/a.png"},
        headers=user["headers"],
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "After"
    assert response.json()["avatar_url"] == "https://example.com/a.png"
    me = client.get(f"{AUTH}/me", headers=user["headers"]).json()
    assert (me["name"], me["avatar_url"]) == ("After", "https://example.com/a.png")
    assert me["version"] > user["user"]["version"]


def test_put_me_with_a_non_http_avatar_url_is_422(api, client):
    user = api.register(name="Ann")
    response = client.put(
        f"{AUTH}/me", json={"avatar_url": "javascript:x"}, headers=user["headers"]
    )
    problem = assert_problem(response, 422)
    assert [e["field"] for e in problem["errors"]] == ["avatar_url"]
    assert client.get(f"{AUTH}/me", headers=user["headers"]).json()["avatar_url"] is None


def test_a_member_cannot_change_their_own_role_or_activation(api, client):
    user = api.register()
    own = f"{USERS}/{user['user']['id']}"
    assert_problem(client.put(own, json={"role": "admin"}, headers=user["headers"]), 403)
    assert_problem(client.put(own, json={"is_active": False}, headers=user["headers"]), 403)
    me = client.get(f"{AUTH}/me", headers=user["headers"]).json()
    assert (me["role"], me["is_active"]) == ("member", True)
    renamed = client.put(own, json={"name": "Renamed"}, headers=user["headers"])
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Renamed"


def test_listing_users_is_for_administrators_only(api, client):
    user = api.register()
    assert_problem(client.get(USERS, headers=user["headers"]), 403)


def test_admin_pages_through_users_with_a_cursor_and_searches_by_name(api, client, admin):
    tag = uuid.uuid4().hex[:10]
    ids = [api.register(name=f"Paged {tag} {i}")["user"]["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 2, "q": tag, **({"cursor": cursor} if cursor else {})}
        page = client.get(USERS, params=params, headers=admin["headers"])
        assert page.status_code == 200, page.text
        assert len(page.json()["data"]) <= 2
        seen += [u["id"] for u in page.json()["data"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == ids  # creation order, each exactly once

    found = client.get(USERS, params={"q": f"{tag} 3"}, headers=admin["headers"]).json()
    assert [u["id"] for u in found["data"]] == [ids[3]]


def test_reading_another_user_is_404_for_members_and_200_for_admins(api, client, admin):
    user = api.register()
    other = api.register(name="Other")
    url = f"{USERS}/{other['user']['id']}"
    assert_problem(client.get(url, headers=user["headers"]), 404)
    response = client.get(url, headers=admin["headers"])
    assert response.status_code == 200
    assert response.json()["name"] == "Other"
    own = client.get(f"{USERS}/{user['user']['id']}", headers=user["headers"])
    assert own.status_code == 200


def test_admin_deactivation_ends_the_users_sessions_and_logins(api, client, admin):
    user = api.register()
    response = client.put(
        f"{USERS}/{user['user']['id']}", json={"is_active": False}, headers=admin["headers"]
    )
    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False
    assert client.get(f"{AUTH}/me", headers=user["headers"]).status_code == 401
    assert_problem(login(client, user), 401)
    refreshed = client.post(f"{AUTH}/refresh", json={"refresh_token": user["refresh_token"]})
    assert refreshed.status_code == 401


def test_admin_updating_a_missing_user_is_404(client, admin):
    response = client.put(
        f"{USERS}/{uuid.uuid4()}", json={"name": "Ghost"}, headers=admin["headers"]
    )
    assert_problem(response, 404)


def test_an_unknown_role_is_a_validation_error(api, client, admin):
    user = api.register()
    response = client.put(
        f"{USERS}/{user['user']['id']}", json={"role": "superuser"}, headers=admin["headers"]
    )
    assert_problem(response, 422)


def test_deleting_another_user_is_404_for_a_member(api, client):
    user = api.register()
    other = api.register()
    response = client.delete(f"{USERS}/{other['user']['id']}", headers=user["headers"])
    assert_problem(response, 404)
    assert login(client, other).status_code == 200


def test_deleting_yourself_ends_the_account_and_frees_the_email(api, client):
    user = api.register(password="open sesame")
    response = client.delete(f"{USERS}/{user['user']['id']}", headers=user["headers"])
    assert response.status_code == 204
    assert_problem(login(client, user), 401)
    assert client.get(f"{AUTH}/me", headers=user["headers"]).status_code == 401
    again = client.post(
        f"{AUTH}/register",
        json={"email": user["user"]["email"], "password": "a new secret", "name": "Again"},
    )
    assert again.status_code == 201, again.text
    assert again.json()["user"]["id"] != user["user"]["id"]
    relogin = login(client, user, "a new secret")
    assert relogin.status_code == 200
    assert relogin.json()["user"]["id"] == again.json()["user"]["id"]


def test_an_admin_may_delete_another_user(api, client, admin):
    user = api.register()
    response = client.delete(f"{USERS}/{user['user']['id']}", headers=admin["headers"])
    assert response.status_code == 204
    assert_problem(login(client, user), 401)
    assert client.get(f"{USERS}/{user['user']['id']}", headers=admin["headers"]).status_code == 404


def test_deleting_the_last_owner_of_a_shared_workspace_is_409_and_deletes_nothing(api, client):
    owner = api.register()
    member = api.register()
    workspace = api.create_workspace(owner)
    added = client.post(
        f"/api/v1/workspaces/{workspace['id']}/members",
        json={"user_id": member["user"]["id"], "role": "member"},
        headers=owner["headers"],
    )
    assert added.status_code == 201, added.text
    response = client.delete(f"{USERS}/{owner['user']['id']}", headers=owner["headers"])
    assert "last owner" in assert_problem(response, 409)["detail"]
    assert client.get(f"{AUTH}/me", headers=owner["headers"]).status_code == 200
    assert login(client, owner).status_code == 200
    still = client.get(f"/api/v1/workspaces/{workspace['id']}", headers=owner["headers"])
    assert still.status_code == 200
    assert still.json()["role"] == "owner"


def test_deleting_the_only_member_of_their_own_workspace_succeeds(api, client):
    owner = api.register()
    api.create_workspace(owner)
    response = client.delete(f"{USERS}/{owner['user']['id']}", headers=owner["headers"])
    assert response.status_code == 204, response.text
    assert login(client, owner).status_code == 401
