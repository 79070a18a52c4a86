"""The security events the spec names, as structured log records with the user, workspace
and request ids: failed log-ins, permission denials, rate-limit blocks, refresh-token reuse."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import structlog
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from interfaces.http.app import create_app
from tests.support.api import Api
from tests.support.authz import add_member
from tests.support.databases import make_settings

AUTH = "/api/v1/auth"


def events(logs: list[dict], kind: str) -> list[dict]:
    return [e for e in logs if e.get("event") == "security event" and e["security_event"] == kind]


def capture() -> object:
    """The records with what the request bound (request id, user id) merged in."""
    return capture_logs(processors=[structlog.contextvars.merge_contextvars])


def test_a_failed_log_in_is_logged_with_the_account_and_request(api: Api, client: TestClient):
    user = api.register(password="the right one")
    email = user["user"]["email"]
    with capture() as logs:
        wrong = client.post(
            f"{AUTH}/login",
            json={"email": email, "password": "not it"},
            headers={"X-Request-Id": "req-login-1"},
        )
        unknown = client.post(
            f"{AUTH}/login", json={"email": f"nobody-{uuid.uuid4().hex}@x.io", "password": "x"}
        )
    assert wrong.status_code == 401
    assert unknown.status_code == 401
    first, second = events(logs, "login_failed")
    assert first["user_id"] == user["user"]["id"]
    assert first["request_id"] == "req-login-1"
    assert first["log_level"] == "warning"
    assert "user_id" not in second  # no such account: no id, and no e-mail address either
    assert second["request_id"] == unknown.headers["X-Request-Id"]
    for record in (first, second):
        assert email not in str(record)
        assert "not it" not in str(record)


def test_a_permission_denial_names_the_user_and_the_workspace(api: Api, client: TestClient):
    owner, viewer = api.register(), api.register()
    workspace = api.create_workspace(owner)
    add_member(client, workspace["id"], owner, viewer["user"]["id"], "viewer")
    with capture() as logs:
        denied = client.put(
            f"/api/v1/workspaces/{workspace['id']}",
            json={"name": "Mine now"},
            headers={**viewer["headers"], "X-Request-Id": "req-denied-1"},
        )
        allowed = client.get(f"/api/v1/workspaces/{workspace['id']}", headers=viewer["headers"])
    assert denied.status_code == 403
    assert allowed.status_code == 200
    [record] = events(logs, "permission_denied")
    assert record["user_id"] == viewer["user"]["id"]
    assert record["workspace_id"] == workspace["id"]
    assert record["request_id"] == "req-denied-1"
    assert record["method"] == "PUT"
    assert record["path"] == f"/api/v1/workspaces/{workspace['id']}"


def test_a_denial_deep_in_a_use_case_still_names_its_workspace(api: Api, client: TestClient):
    owner, viewer = api.register(), api.register()
    workspace = api.create_workspace(owner)
    add_member(client, workspace["id"], owner, viewer["user"]["id"], "viewer")
    with capture() as logs:
        denied = client.post(
            "/api/v1/projects",
            json={"workspace_id": workspace["id"], "name": "Not yours"},
            headers=viewer["headers"],
        )
    assert denied.status_code == 403
    [record] = events(logs, "permission_denied")
    assert record["workspace_id"] == workspace["id"]  # from the use case, not the path
    assert record["user_id"] == viewer["user"]["id"]


def test_refresh_token_reuse_is_logged(api: Api, client: TestClient):
    user = api.register()
    rotated = client.post(f"{AUTH}/refresh", json={"refresh_token": user["refresh_token"]})
    assert rotated.status_code == 200
    with capture() as logs:
        reused = client.post(
            f"{AUTH}/refresh",
            json={"refresh_token": user["refresh_token"]},
            headers={"X-Request-Id": "req-reuse-1"},
        )
    assert reused.status_code == 401
    [record] = events(logs, "refresh_token_reuse")
    assert record["user_id"] == user["user"]["id"]
    assert record["request_id"] == "req-reuse-1"
    assert record["family_id"]
    assert user["refresh_token"] not in str(record)


@pytest.fixture
def limited(database_url: str) -> Iterator[TestClient]:
    settings = make_settings(
        database_url,
        rate_limit_enabled=True,
        rate_limit_prefix=f"sec-{uuid.uuid4().hex}",
        rate_limit_max_requests=1000,
        rate_limit_user_per_hour=3,
        login_rate_ip_per_minute=2,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_rate_limit_blocks_are_logged_and_counted(limited: TestClient):
    user = Api(limited).register()
    with capture() as logs:
        answers = [
            limited.get(f"{AUTH}/me", headers={**user["headers"], "X-Request-Id": f"req-rl-{n}"})
            for n in range(5)
        ]
        logins = [
            limited.post(f"{AUTH}/login", json={"email": "a@example.com", "password": "x"})
            for _ in range(3)
        ]
    assert [a.status_code for a in answers].count(429) >= 2
    assert logins[-1].status_code == 429
    blocks = events(logs, "rate_limit_blocked")
    per_user = [b for b in blocks if b["limit"] == "user"]
    assert len(per_user) == [a.status_code for a in answers].count(429)
    assert per_user[0]["user_id"] == user["user"]["id"]
    assert per_user[0]["request_id"].startswith("req-rl-")
    assert per_user[0]["path"] == f"{AUTH}/me"
    assert [b["limit"] for b in blocks if b["limit"] != "user"] == ["login_ip"]
    metrics = limited.get("/metrics").text
    assert 'worksync_rate_limit_rejections_total{limit="login_ip"}' in metrics
