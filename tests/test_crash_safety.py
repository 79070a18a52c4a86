"""Crash safety: under a steady load of commands, SIGKILL the API and the projector, restart
them, and every acknowledged command is in the log and in the read tables, once, with the
live projections equal to a rebuild."""

from __future__ import annotations

import signal
import threading
import time
import uuid

import httpx
import psycopg
import pytest

from interfaces.bootstrap import open_event_store
from projections.rebuild import rebuild
from projections.registry import all_projections
from tests.support.live_server import free_port, wait_healthy, worksync
from tests.support.projections import caught_up, snapshot, wait_until

TABLES = ("workspaces", "workspace_members", "activities")


@pytest.mark.slow
def test_killing_api_and_projector_under_load_loses_no_acknowledged_command(fresh_database_url):
    url = fresh_database_url
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    fast = {"PROJECTION_WAIT_TIMEOUT": "0.5"}  # with the projector dead, answer 202 quickly
    api = worksync(url, "serve", "--port", str(port), "--no-projector", **fast)
    projector = worksync(url, "projector")
    wait_healthy(base, api)
    token = httpx.post(
        f"{base}/api/v1/auth/register",
        json={"email": "crash@example.com", "password": "password123", "name": "C"},
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
            while not stop.is_set():
                try:
                    response = client.post(
                        "/api/v1/workspaces", json={"name": f"w-{uuid.uuid4().hex[:6]}"}
                    )
                except httpx.HTTPError:
                    time.sleep(0.05)  # the server is down: not acknowledged, try again
                    continue
                if response.status_code in (201, 202):
                    with lock:
                        acknowledged.append(response.json()["id"])

    clients = [threading.Thread(target=load) for _ in range(6)]
    for client in clients:
        client.start()
    try:
        time.sleep(2)
        api.send_signal(signal.SIGKILL)
        projector.send_signal(signal.SIGKILL)
        api.wait()
        projector.wait()
        killed_at = len(acknowledged)
        api = worksync(url, "serve", "--port", str(port), "--no-projector", **fast)
        projector = worksync(url, "projector")
        wait_healthy(base, api)
        time.sleep(2)
    finally:
        stop.set()
        for client in clients:
            client.join()
    try:
        assert killed_at > 10
        assert len(acknowledged) > killed_at  # load went on after the restart
        wait_until(lambda: caught_up(url), timeout=60)
    finally:
        api.terminate()
        projector.terminate()
        api.wait(10)
        projector.wait(10)

    with psycopg.connect(url) as conn:
        logged = [
            str(r[0])
            for r in conn.execute(
                "SELECT originator_id FROM worksync_events WHERE topic = 'domain.workspaces:Workspace.Created'"
            )
        ]
        projected = [str(r[0]) for r in conn.execute("SELECT id FROM workspaces")]
        positions = [
            r[0] for r in conn.execute("SELECT position FROM activities ORDER BY position")
        ]
        workspace_events = [
            r[0]
            for r in conn.execute(
                "SELECT notification_id FROM worksync_events WHERE topic LIKE 'domain.workspaces:%' ORDER BY 1"
            )
        ]
    assert set(acknowledged) <= set(logged)  # nothing acknowledged is missing from the log
    assert sorted(projected) == sorted(logged)  # every logged command is projected, once
    assert positions == workspace_events  # the feed saw each event exactly once
    live = {t: snapshot(url, t) for t in TABLES}
    store = open_event_store(url, pool_size=1)
    for projection in all_projections():
        rebuild(url, projection, store.mapper)
    store.close()
    assert {t: snapshot(url, t) for t in TABLES} == live
