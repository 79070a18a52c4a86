"""`worksync serve` runs the projector by default; a command whose read model does not catch
up answers 202 (never 201); /ready is 503 while a projection has no runner or stays behind."""

from __future__ import annotations

import time

import httpx
from fastapi.testclient import TestClient

from interfaces.http.app import create_app
from interfaces.http.health import LagWatch
from projections import control
from tests.support.databases import make_settings
from tests.support.live_server import free_port, wait_healthy, worksync

SIGN_UP = {"email": "new@example.com", "password": "password123", "name": "New"}
LOG_IN = {"email": "new@example.com", "password": "password123"}


def serve(url: str, *args: str, **env: str):
    port = free_port()
    process = worksync(url, "serve", "--port", str(port), *args, **env)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, process)
    return process, base


def stop(process) -> None:
    process.terminate()
    process.wait(10)


def test_serve_runs_the_projector_by_default(fresh_database_url):
    process, base = serve(fresh_database_url)
    try:
        started = time.monotonic()
        signed_up = httpx.post(f"{base}/api/v1/auth/register", json=SIGN_UP, timeout=10)
        assert signed_up.status_code == 201, signed_up.text
        assert time.monotonic() - started < 3  # no 5 s wait for a projector that is not there
        logged_in = httpx.post(f"{base}/api/v1/auth/login", json=LOG_IN, timeout=10)
        assert logged_in.status_code == 200, logged_in.text
        token = logged_in.json()["access_token"]
        me = httpx.get(f"{base}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["email"] == SIGN_UP["email"]
        deadline = time.monotonic() + 10
        while (ready := httpx.get(f"{base}/ready")).status_code != 200:
            assert time.monotonic() < deadline, ready.text
            time.sleep(0.2)
        body = ready.json()
        assert body["status"] == "ready"
        assert body["not_ready"] == []
        assert all(p["runner"] for p in body["projections"].values())
    finally:
        stop(process)


def test_without_a_projector_commands_answer_202_and_ready_is_503(fresh_database_url):
    process, base = serve(fresh_database_url, "--no-projector", PROJECTION_WAIT_TIMEOUT="0.5")
    try:
        signed_up = httpx.post(f"{base}/api/v1/auth/register", json=SIGN_UP, timeout=10)
        assert signed_up.status_code == 202, signed_up.text
        assert signed_up.json()["status"] == "accepted"
        assert signed_up.headers["location"] == "/api/v1/auth/login"
        # The account is in the log: logging in works although the read model lags behind.
        logged_in = httpx.post(f"{base}/api/v1/auth/login", json=LOG_IN, timeout=10)
        assert logged_in.status_code == 200, logged_in.text
        assert logged_in.json()["user"]["email"] == SIGN_UP["email"]
        assert httpx.get(f"{base}/health").json() == {"status": "ok"}
        ready = httpx.get(f"{base}/ready")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "not_ready"
        assert "users" in body["not_ready"]
        assert body["projections"]["users"]["runner"] is False
        # A separate `worksync projector` (the split topology) makes it ready.
        projector = worksync(fresh_database_url, "projector")
        try:
            deadline = time.monotonic() + 20
            while httpx.get(f"{base}/ready").status_code != 200:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        finally:
            stop(projector)
    finally:
        stop(process)


def test_ready_is_503_while_a_projection_stays_behind(fresh_database_url):
    settings = make_settings(
        fresh_database_url, ready_max_lag=0, ready_lag_seconds=0.3, projection_wait_timeout=0.2
    )
    with TestClient(create_app(settings, with_projector=True)) as client:
        deadline = time.monotonic() + 10
        while client.get("/ready").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        control.set_state(fresh_database_url, "users", "paused")
        signed_up = client.post("/api/v1/auth/register", json=SIGN_UP)
        assert signed_up.status_code == 202  # users is paused: the wait times out
        first = client.get("/ready").json()
        assert first["projections"]["users"]["lag"] > 0
        time.sleep(0.5)
        behind = client.get("/ready")
        assert behind.status_code == 503
        assert behind.json()["not_ready"] == ["users"]
        assert behind.json()["projections"]["users"]["runner"] is True
        control.set_state(fresh_database_url, "users", "running")
        deadline = time.monotonic() + 10
        while client.get("/ready").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_lag_watch_counts_only_while_behind():
    watch = LagWatch()
    assert watch.seconds_behind("a", 5, 10, now=100.0) == 0
    assert watch.seconds_behind("a", 50, 10, now=100.0) == 0
    assert watch.seconds_behind("a", 60, 10, now=130.0) == 30
    assert watch.seconds_behind("a", 3, 10, now=131.0) == 0
    assert watch.seconds_behind("a", 60, 10, now=140.0) == 0
