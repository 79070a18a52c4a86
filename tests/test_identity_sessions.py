"""Sessions: rotating refresh tokens and reuse detection, logout, password change and reset,
and the security events they leave behind. All through the HTTP API on the real stack."""

from __future__ import annotations

import re
import uuid

import jwt
import psycopg
from structlog.testing import capture_logs

from tests.support.projections import wait_until

PROBLEM = "application/problem+json"
AUTH = "/api/v1/auth"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def me_status(client, access_token: str) -> int:
    return client.get(f"{AUTH}/me", headers=bearer(access_token)).status_code


def login(client, email: str, password: str):
    return client.post(f"{AUTH}/login", json={"email": email, "password": password})


def refresh(client, refresh_token: str):
    return client.post(f"{AUTH}/refresh", json={"refresh_token": refresh_token})


def execute(database_url: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def security_kinds(database_url: str, user_id: str) -> list[str]:
    rows = execute(
        database_url, "SELECT kind FROM security_events WHERE user_id = %s ORDER BY id", (user_id,)
    )
    return [r[0] for r in rows]


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    return body


def test_register_and_login_return_an_access_and_a_refresh_token(api, client):
    user = api.register(password="open sesame")
    assert user["access_token"]
    assert user["refresh_token"]
    response = login(client, user["user"]["email"], "open sesame")
    assert response.status_code == 200
    body = response.json()
    assert body["access_token"]
    assert body["refresh_token"]
    assert body["refresh_token"] != user["refresh_token"]
    assert body["user"]["id"] == user["user"]["id"]


def test_refresh_returns_a_new_refresh_token_and_a_working_access_token(api, client):
    user = api.register()
    response = refresh(client, user["refresh_token"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refresh_token"] != user["refresh_token"]
    assert body["user"]["id"] == user["user"]["id"]
    me = client.get(f"{AUTH}/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == user["user"]["id"]
    assert refresh(client, body["refresh_token"]).status_code == 200  # the new one rotates too


def test_reusing_a_rotated_refresh_token_revokes_the_whole_login(api, client, database_url):
    user = api.register(password="open sesame")
    first = login(client, user["user"]["email"], "open sesame").json()
    second = refresh(client, first["refresh_token"]).json()
    newest = refresh(client, second["refresh_token"]).json()
    assert me_status(client, newest["access_token"]) == 200

    reuse = refresh(client, first["refresh_token"])
    assert "reuse" in assert_problem(reuse, 401)["detail"]

    assert refresh(client, newest["refresh_token"]).status_code == 401
    for token in (first["access_token"], second["access_token"], newest["access_token"]):
        assert me_status(client, token) == 401
    assert me_status(client, user["access_token"]) == 200  # the sign-up's login is another family
    assert "refresh_token_reuse" in security_kinds(database_url, user["user"]["id"])
    [details] = execute(
        database_url,
        "SELECT details FROM security_events WHERE user_id = %s AND kind = 'refresh_token_reuse'"
        " ORDER BY id LIMIT 1",
        (user["user"]["id"],),
    )[0]
    assert (
        details["family_id"]
        == jwt.decode(first["access_token"], options={"verify_signature": False})["sid"]
    )


def test_an_unknown_refresh_token_is_401(client):
    response = refresh(client, "this-token-was-never-issued-" + uuid.uuid4().hex)
    assert_problem(response, 401)


def test_an_expired_refresh_token_is_401(api, client, database_url):
    user = api.register()
    execute(
        database_url,
        "UPDATE user_sessions SET expires_at = now() - interval '1 minute' WHERE user_id = %s",
        (user["user"]["id"],),
    )
    response = refresh(client, user["refresh_token"])
    assert "expired" in assert_problem(response, 401)["detail"]


def test_logout_ends_that_login_only(api, client):
    user = api.register(password="open sesame")
    other = login(client, user["user"]["email"], "open sesame").json()
    response = client.post(
        f"{AUTH}/logout",
        json={"refresh_token": user["refresh_token"]},
        headers=user["headers"],
    )
    assert response.status_code == 204
    assert me_status(client, user["access_token"]) == 401
    assert_problem(refresh(client, user["refresh_token"]), 401)
    assert me_status(client, other["access_token"]) == 200
    rotated = refresh(client, other["refresh_token"])
    assert rotated.status_code == 200
    assert me_status(client, rotated.json()["access_token"]) == 200


def test_change_password_with_a_wrong_current_password_is_403_and_changes_nothing(
    api, client, database_url
):
    user = api.register(password="old password")
    response = client.put(
        f"{AUTH}/password",
        json={"current_password": "not the password", "new_password": "new password"},
        headers=user["headers"],
    )
    assert_problem(response, 403)
    assert me_status(client, user["access_token"]) == 200
    assert refresh(client, user["refresh_token"]).status_code == 200
    assert login(client, user["user"]["email"], "old password").status_code == 200
    assert login(client, user["user"]["email"], "new password").status_code == 401
    assert "password_change_failed" in security_kinds(database_url, user["user"]["id"])


def test_change_password_signs_out_every_session_and_swaps_the_password(api, client, database_url):
    user = api.register(password="old password")
    other = login(client, user["user"]["email"], "old password").json()
    response = client.put(
        f"{AUTH}/password",
        json={"current_password": "old password", "new_password": "new password"},
        headers=user["headers"],
    )
    assert response.status_code == 204
    for session in (user, other):
        assert me_status(client, session["access_token"]) == 401
        assert refresh(client, session["refresh_token"]).status_code == 401
    assert login(client, user["user"]["email"], "old password").status_code == 401
    fresh = login(client, user["user"]["email"], "new password")
    assert fresh.status_code == 200
    assert me_status(client, fresh.json()["access_token"]) == 200
    assert "password_changed" in security_kinds(database_url, user["user"]["id"])


def test_forgot_password_answers_the_same_for_known_and_unknown_addresses(api, client):
    user = api.register()
    known = client.post(f"{AUTH}/forgot-password", json={"email": user["user"]["email"]})
    unknown = client.post(
        f"{AUTH}/forgot-password", json={"email": f"nobody-{uuid.uuid4().hex[:8]}@example.com"}
    )
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()


def test_the_reset_link_from_the_mail_works_once_and_ends_every_session(api, client):
    user = api.register(password="old password")
    email = user["user"]["email"]
    with capture_logs() as logs:
        response = client.post(f"{AUTH}/forgot-password", json={"email": email})
        assert response.status_code == 202

        def mails() -> list[dict]:
            return [e for e in logs if e.get("event") == "mail.logged" and e.get("to") == email]

        # The mail policy and the outbox dispatcher send it shortly after the answer.
        wait_until(lambda: any(m["template"] == "password_reset" for m in mails()), timeout=15)
    [mail] = [m for m in mails() if m["template"] == "password_reset"]
    assert mail["template"] == "password_reset"
    token = re.search(r"reset-password\?token=([A-Za-z0-9_-]+)", mail["body"]).group(1)

    reset = client.post(
        f"{AUTH}/reset-password", json={"token": token, "password": "brand new password"}
    )
    assert reset.status_code == 204
    again = client.post(
        f"{AUTH}/reset-password", json={"token": token, "password": "another new password"}
    )
    assert_problem(again, 422)

    assert me_status(client, user["access_token"]) == 401
    assert refresh(client, user["refresh_token"]).status_code == 401
    assert login(client, email, "old password").status_code == 401
    assert login(client, email, "another new password").status_code == 401
    assert login(client, email, "brand new password").status_code == 200


def test_an_expired_or_unknown_reset_token_is_422(api, client, database_url):
    user = api.register(password="old password")
    sessions = client.app.state.container.identity.sessions
    token = sessions.create_reset(uuid.UUID(user["user"]["id"]))
    execute(
        database_url,
        "UPDATE password_reset_tokens SET expires_at = now() - interval '1 minute'"
        " WHERE user_id = %s",
        (user["user"]["id"],),
    )
    body = {"token": token, "password": "brand new password"}
    assert_problem(client.post(f"{AUTH}/reset-password", json=body), 422)
    body["token"] = "never-issued-" + uuid.uuid4().hex
    assert_problem(client.post(f"{AUTH}/reset-password", json=body), 422)
    assert login(client, user["user"]["email"], "old password").status_code == 200
    assert me_status(client, user["access_token"]) == 200


def test_an_access_token_of_a_revoked_or_unknown_login_is_401(api, client):
    user = api.register()
    identity = client.app.state.container.identity
    user_id = uuid.UUID(user["user"]["id"])
    sid = uuid.UUID(jwt.decode(user["access_token"], options={"verify_signature": False})["sid"])
    reissued = identity.tokens.issue(user_id, sid)  # validly signed, same login
    assert me_status(client, reissued) == 200
    identity.sessions.revoke_family(sid)
    assert me_status(client, reissued) == 401
    assert me_status(client, user["access_token"]) == 401
    assert me_status(client, identity.tokens.issue(user_id, uuid.uuid4())) == 401


def test_login_attempts_are_recorded_as_security_events(api, client, database_url):
    user = api.register(password="open sesame")
    email = user["user"]["email"]
    assert login(client, email, "wrong password").status_code == 401
    assert login(client, email, "open sesame").status_code == 200
    kinds = security_kinds(database_url, user["user"]["id"])
    assert [k for k in kinds if k.startswith("login")] == ["login_failed", "login"]
    rows = execute(
        database_url,
        "SELECT ip FROM security_events WHERE user_id = %s AND kind LIKE 'login%%'",
        (user["user"]["id"],),
    )
    assert all(ip == "testclient" for (ip,) in rows)


def test_logout_is_recorded_for_the_user(api, client, database_url):
    user = api.register()
    response = client.post(
        f"{AUTH}/logout", json={"refresh_token": user["refresh_token"]}, headers=user["headers"]
    )
    assert response.status_code == 204
    assert "logout" in security_kinds(database_url, user["user"]["id"])


def test_logout_without_a_refresh_token_is_recorded_for_the_user(api, client, database_url):
    user = api.register()
    response = client.post(f"{AUTH}/logout", json={}, headers=user["headers"])
    assert response.status_code == 204
    assert me_status(client, user["access_token"]) == 401
    assert "logout" in security_kinds(database_url, user["user"]["id"])


def me_name(client, access_token: str) -> str | None:
    response = client.get(f"{AUTH}/me", headers=bearer(access_token))
    return response.json()["name"] if response.status_code == 200 else None


def test_a_sign_in_is_kept_between_requests_until_a_change_is_announced(api, client, database_url):
    """The sign-in check is not read again while nothing was announced: a row changed behind
    the projections' back (no announcement) is not seen; once ``worksync_sign_ins`` is
    announced (by another process, here a bare connection), the next request reads it."""
    user = api.register(name="Before")
    assert me_name(client, user["access_token"]) == "Before"
    execute(database_url, "UPDATE users SET name = 'Behind' WHERE id = %s", (user["user"]["id"],))
    assert me_name(client, user["access_token"]) == "Before"  # kept: nothing announced
    execute(database_url, "SELECT pg_notify('worksync_sign_ins', '')")
    wait_until(lambda: me_name(client, user["access_token"]) == "Behind", timeout=5)


def test_a_login_revoked_elsewhere_is_refused_once_its_revocation_is_announced(
    api, client, database_url
):
    """Another process (or retention) revokes the login in the database: the trigger on
    user_sessions announces it, and this process refuses the access token."""
    user = api.register()
    assert me_status(client, user["access_token"]) == 200
    sid = jwt.decode(user["access_token"], options={"verify_signature": False})["sid"]
    execute(
        database_url, "UPDATE user_sessions SET revoked_at = now() WHERE family_id = %s", (sid,)
    )
    wait_until(lambda: me_status(client, user["access_token"]) == 401, timeout=5)


def test_sign_ins_are_read_on_every_request_while_announcements_may_be_missed(
    api, client, database_url
):
    """While the waiter's connection is down, nothing kept is served; after it reconnects
    (a new generation), nothing kept before is served either."""
    waiter = client.app.state.container.waiter
    user = api.register(name="First")
    assert me_name(client, user["access_token"]) == "First"
    waiter.listening = False  # as when its connection is lost
    try:
        execute(
            database_url, "UPDATE users SET name = 'Second' WHERE id = %s", (user["user"]["id"],)
        )
        assert me_name(client, user["access_token"]) == "Second"
        execute(
            database_url, "UPDATE users SET name = 'Third' WHERE id = %s", (user["user"]["id"],)
        )
        assert me_name(client, user["access_token"]) == "Third"
    finally:
        waiter.generation += 1  # as its reconnection does, before it listens again
        waiter.listening = True
    execute(database_url, "UPDATE users SET name = 'Fourth' WHERE id = %s", (user["user"]["id"],))
    assert me_name(client, user["access_token"]) == "Fourth"  # "First" was kept before
