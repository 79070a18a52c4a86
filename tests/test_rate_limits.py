"""Rate limits: per IP, per user, login and forgot-password, on Redis and in memory; disabled;
and failing open when Redis is unreachable. A tiny app, no database."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from limits import RateLimitItemPerSecond
from pydantic import BaseModel
from structlog.testing import capture_logs

from application.config import Settings
from application.errors import Unauthorized
from application.identity import Tokens
from interfaces.http import problems, ratelimit
from interfaces.http.ratelimit import ClientIp, RateLimits, RateLimitsDep, storage_uri
from interfaces.http.security_headers import SecurityHeaders

REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "correct horse"
PROBLEM = "application/problem+json"


class Credentials(BaseModel):
    email: str
    password: str = ""


class FakeClientIp:
    """Outermost test wrapper: the client address comes from X-Test-Ip (TestClient has one)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            for key, value in scope["headers"]:
                if key == b"x-test-ip":
                    scope = {**scope, "client": (value.decode(), 50000)}
        await self.app(scope, receive, send)


def make_settings(storage: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "redis_url": REDIS_URL if storage == "redis" else None,
        "rate_limit_enabled": True,
        "rate_limit_prefix": f"test-{uuid.uuid4().hex}",
        "rate_limit_window_ms": 60000,
        "rate_limit_max_requests": 1000,
        "rate_limit_user_per_hour": 1000,
        "login_rate_ip_per_minute": 1000,
        "login_failures_per_account": 3,
        "forgot_password_per_hour": 1000,
    }
    values.update(overrides)
    return Settings(**values)


def build_app(settings: Settings) -> tuple[Any, RateLimits]:
    app = FastAPI()
    problems.install(app)
    rate_limits = ratelimit.install(app, RateLimits(settings))
    app.add_middleware(SecurityHeaders)

    @app.get("/api/v1/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/login")
    async def login(body: Credentials, limits: RateLimitsDep, ip: ClientIp) -> dict[str, str]:
        await limits.check_login(ip, body.email)
        if body.password != PASSWORD:
            await limits.record_login_failure(body.email)
            raise Unauthorized("invalid e-mail or password")
        return {"signed_in": body.email}

    @app.post("/forgot-password", status_code=202)
    async def forgot(body: Credentials, limits: RateLimitsDep, ip: ClientIp) -> dict[str, str]:
        await limits.check_forgot_password(ip, body.email)
        return {"status": "sent if the account exists"}

    return FakeClientIp(app), rate_limits


@pytest.fixture(params=["redis", "memory"])
def storage(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_client(storage: str) -> Iterator[Any]:
    clients: list[TestClient] = []

    def make(**overrides: Any) -> tuple[TestClient, RateLimits]:
        app, rate_limits = build_app(make_settings(storage, **overrides))
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client, rate_limits

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def bearer(settings_or_secret: Settings | str, user_id: uuid.UUID) -> dict[str, str]:
    if isinstance(settings_or_secret, Settings):
        issued: Any = Tokens(settings_or_secret).issue(user_id)
        token = getattr(issued, "access_token", issued)  # a TokenPair or the bare JWT
    else:
        now = int(time.time())
        claims = {"sub": str(user_id), "type": "access", "iat": now, "exp": now + 60}
        token = jwt.encode(claims, settings_or_secret, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


def assert_429(response: Any, limit: int, max_retry: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == 429
    assert body["type"].endswith("/rate-limited")
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit()
    assert 1 <= int(retry_after) <= max_retry
    assert body["retry_after"] == int(retry_after)
    assert response.headers["X-RateLimit-Limit"] == str(limit)
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) >= int(time.time())


def test_storage_uri() -> None:
    assert storage_uri(None) == "async+memory://"
    assert storage_uri("") == "async+memory://"
    assert storage_uri("redis://h:6379/0") == "async+redis://h:6379/0"
    assert storage_uri("rediss://:pw@h:6380") == "async+rediss://:pw@h:6380"
    assert storage_uri("unix:///run/redis.sock") == "async+redis+unix:///run/redis.sock"
    assert storage_uri("async+redis://h") == "async+redis://h"


def test_per_ip_limit_counts_down_then_429(make_client: Any) -> None:
    client, _ = make_client(rate_limit_max_requests=5)
    remaining = []
    for _ in range(5):
        response = client.get("/api/v1/ping")
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "5"
        assert int(response.headers["X-RateLimit-Reset"]) >= int(time.time())
        remaining.append(response.headers["X-RateLimit-Remaining"])
    assert remaining == ["4", "3", "2", "1", "0"]

    response = client.get("/api/v1/ping")
    assert_429(response, limit=5, max_retry=60)
    # Still refused; the problem carries the path; security headers are there too.
    response = client.get("/api/v1/ping")
    assert response.status_code == 429
    assert response.json()["instance"] == "/api/v1/ping"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Another address has its own budget; probes are never limited.
    assert client.get("/api/v1/ping", headers={"X-Test-Ip": "10.0.0.2"}).status_code == 200
    health = client.get("/health")
    assert health.status_code == 200
    assert "X-RateLimit-Limit" not in health.headers


def test_per_ip_window_passes(make_client: Any) -> None:
    client, _ = make_client(rate_limit_max_requests=2, rate_limit_window_ms=1000)
    assert client.get("/api/v1/ping").status_code == 200
    assert client.get("/api/v1/ping").status_code == 200
    assert_429(client.get("/api/v1/ping"), limit=2, max_retry=1)
    time.sleep(1.1)
    assert client.get("/api/v1/ping").status_code == 200


def test_per_user_limit_spans_addresses_and_users_are_independent(make_client: Any) -> None:
    client, rate_limits = make_client(rate_limit_max_requests=1000, rate_limit_user_per_hour=3)
    settings = make_settings("memory")  # same default JWT secret as the app's settings
    ann, bob = uuid.uuid4(), uuid.uuid4()
    for n in range(3):
        headers = {**bearer(settings, ann), "X-Test-Ip": f"10.1.0.{n}"}
        response = client.get("/api/v1/ping", headers=headers)
        assert response.status_code == 200
        # The tightest limit is reported: the user's 3 per hour, not the IP's 1000.
        assert response.headers["X-RateLimit-Limit"] == "3"
        assert response.headers["X-RateLimit-Remaining"] == str(2 - n)

    response = client.get(
        "/api/v1/ping", headers={**bearer(settings, ann), "X-Test-Ip": "10.1.9.9"}
    )
    assert_429(response, limit=3, max_retry=3600)
    assert int(response.headers["Retry-After"]) > 3000

    # Bob is not affected, nor anonymous callers, nor a forged token naming Ann.
    assert client.get("/api/v1/ping", headers=bearer(settings, bob)).status_code == 200
    anonymous = client.get("/api/v1/ping")
    assert anonymous.status_code == 200
    assert anonymous.headers["X-RateLimit-Limit"] == "1000"
    forged = client.get("/api/v1/ping", headers=bearer("not-the-secret-" * 3, ann))
    assert forged.status_code == 200
    assert forged.headers["X-RateLimit-Limit"] == "1000"
    assert rate_limits.user_of("Bearer garbage") is None
    assert rate_limits.user_of("Basic abc") is None


def test_login_account_blocked_after_failures_even_with_right_password(
    make_client: Any,
) -> None:
    client, _ = make_client(login_failures_per_account=3)
    for n in range(3):
        # Different addresses: the account limit is about the account, not the caller.
        response = client.post(
            "/login",
            json={"email": "ann@example.com", "password": "wrong"},
            headers={"X-Test-Ip": f"10.2.0.{n}"},
        )
        assert response.status_code == 401
    response = client.post("/login", json={"email": "Ann@Example.com ", "password": PASSWORD})
    assert_429(response, limit=3, max_retry=15 * 60)
    assert int(response.headers["Retry-After"]) > 14 * 60
    assert "account" in response.json()["detail"]

    # Bob can still sign in.
    response = client.post("/login", json={"email": "bob@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json() == {"signed_in": "bob@example.com"}


def test_login_failures_only_count_failures_and_window_passes(make_client: Any) -> None:
    client, rate_limits = make_client(login_failures_per_account=2)
    # Successful sign-ins do not use up the failure budget.
    for _ in range(5):
        response = client.post("/login", json={"email": "cy@example.com", "password": PASSWORD})
        assert response.status_code == 200

    # A short window instead of 15 minutes, to see it pass.
    rate_limits.login_failure_limit = RateLimitItemPerSecond(
        2, 1, namespace=rate_limits.login_failure_limit.namespace
    )
    for _ in range(2):
        response = client.post("/login", json={"email": "cy@example.com", "password": "x"})
        assert response.status_code == 401
    response = client.post("/login", json={"email": "cy@example.com", "password": PASSWORD})
    assert response.status_code == 429
    time.sleep(1.1)
    response = client.post("/login", json={"email": "cy@example.com", "password": PASSWORD})
    assert response.status_code == 200


def test_login_per_ip_limit(make_client: Any) -> None:
    client, _ = make_client(login_rate_ip_per_minute=3, login_failures_per_account=100)
    for n in range(3):
        response = client.post(
            "/login", json={"email": f"u{n}@example.com", "password": PASSWORD if n else "bad"}
        )
        assert response.status_code in (200, 401)
    response = client.post("/login", json={"email": "u9@example.com", "password": PASSWORD})
    assert_429(response, limit=3, max_retry=60)
    assert "address" in response.json()["detail"]
    # Another address may still sign in.
    response = client.post(
        "/login",
        json={"email": "u9@example.com", "password": PASSWORD},
        headers={"X-Test-Ip": "10.3.0.1"},
    )
    assert response.status_code == 200


def test_forgot_password_per_email_and_per_ip(make_client: Any) -> None:
    client, _ = make_client(forgot_password_per_hour=2)

    def forgot(email: str, ip: str) -> Any:
        return client.post("/forgot-password", json={"email": email}, headers={"X-Test-Ip": ip})

    # Per e-mail, from any address.
    assert forgot("ann@example.com", "10.4.0.1").status_code == 202
    assert forgot("ann@example.com", "10.4.0.2").status_code == 202
    assert_429(forgot("ANN@example.com", "10.4.0.3"), limit=2, max_retry=3600)
    # Per address, whatever the e-mail.
    assert forgot("b@example.com", "10.4.1.1").status_code == 202
    assert forgot("c@example.com", "10.4.1.1").status_code == 202
    response = forgot("d@example.com", "10.4.1.1")
    assert_429(response, limit=2, max_retry=3600)
    assert int(response.headers["Retry-After"]) > 3000


def test_disabled_lets_everything_through(make_client: Any) -> None:
    client, _ = make_client(
        rate_limit_enabled=False,
        rate_limit_max_requests=1,
        login_rate_ip_per_minute=1,
        login_failures_per_account=1,
        forgot_password_per_hour=1,
    )
    for _ in range(5):
        response = client.get("/api/v1/ping")
        assert response.status_code == 200
        assert "X-RateLimit-Limit" not in response.headers
    for _ in range(5):
        assert client.post("/login", json={"email": "a@x.io", "password": "bad"}).status_code == 401
    assert client.post("/login", json={"email": "a@x.io", "password": PASSWORD}).status_code == 200
    for _ in range(5):
        assert client.post("/forgot-password", json={"email": "a@x.io"}).status_code == 202


@pytest.mark.parametrize("storage", ["redis"], indirect=True)
def test_unreachable_redis_fails_open(make_client: Any) -> None:
    with capture_logs() as logs:
        client, _ = make_client(
            redis_url="redis://127.0.0.1:1/0",
            rate_limit_max_requests=1,
            login_rate_ip_per_minute=1,
            login_failures_per_account=1,
            forgot_password_per_hour=1,
        )
        started = time.monotonic()
        for _ in range(5):
            response = client.get("/api/v1/ping")
            assert response.status_code == 200
            assert "X-RateLimit-Limit" not in response.headers
        for _ in range(3):
            response = client.post("/login", json={"email": "a@x.io", "password": "bad"})
            assert response.status_code == 401
        assert (
            client.post("/login", json={"email": "a@x.io", "password": PASSWORD}).status_code == 200
        )
        assert client.post("/forgot-password", json={"email": "a@x.io"}).status_code == 202
        assert time.monotonic() - started < 5
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert warnings
    assert "unavailable" in warnings[0]["event"]
