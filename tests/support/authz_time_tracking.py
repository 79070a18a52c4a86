"""Authorization matrix rows for the time tracking endpoints (see tests/support/authz.py).

Everyone tracks and reads their own time; viewers may not track; a workspace's managers
(owner, admin) read and change everyone's entries there; a plain member may not see a
teammate's entry (403); outsiders see nothing of the workspace (404). Timer commands act on
the caller's own timer: without one they are 409 (the viewer and the outsider never have one).
The role users live through the whole matrix, so timers are reset and manual entries get
times of their own.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.authz import Case, World, expect

OWN = expect(200, 200, 200, 200, 200)
IN_PROJECT = expect(200, 200, 200, 200, 404)
TIMER = expect(200, 200, 200, 409, 409)
ENTRY = "/api/v1/time-entries/{entry_id}"
_slots = itertools.count()


def slot() -> tuple[str, str]:
    """An hour of the past that no other matrix entry uses."""
    start = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(hours=next(_slots))
    return start.isoformat(), (start + timedelta(minutes=30)).isoformat()


def project(w: World) -> str:
    return w.ensure(
        "time_project",
        lambda w: w.post("/api/v1/projects", {"workspace_id": w.workspace["id"], "name": "T"})[
            "id"
        ],
    )


def target_entry(w: World) -> str:
    """A manual entry of the plain member ``target``."""

    def make(w: World) -> str:
        start, end = slot()
        body = {"project_id": project(w), "description": "theirs", "start_time": start}
        response = w.client.post(
            "/api/v1/time-entries", json={**body, "end_time": end}, headers=w.target["headers"]
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    return w.ensure("target_entry", make)


def fresh_timer(client: Any, w: World, role: str, *then: str) -> None:
    """Stop the caller's timer, start one in this world if the role may, then e.g. pause."""
    headers = w.headers(role)
    client.put("/api/v1/time-tracking/stop", headers=headers)
    if role in ("owner", "admin", "member"):
        started = client.post(
            "/api/v1/time-tracking/start",
            json={"project_id": project(w), "description": "matrix"},
            headers=headers,
        )
        assert started.status_code == 201, started.text
        for action in then:
            assert client.put(f"/api/v1/time-tracking/{action}", headers=headers).status_code == 200


def no_timer(client: Any, w: World, role: str) -> None:
    project(w)
    client.put("/api/v1/time-tracking/stop", headers=w.headers(role))


def manual(w: World, role: str) -> dict:
    start, end = slot()
    return {"project_id": project(w), "description": "m", "start_time": start, "end_time": end}


CASES = [
    Case(
        "GET",
        "/api/v1/time-entries",
        IN_PROJECT,
        path=lambda w: f"/api/v1/time-entries?project_id={project(w)}",
    ),
    Case(
        "POST",
        "/api/v1/time-entries",
        expect(201, 201, 201, 403, 404),
        path=lambda w: "/api/v1/time-entries",
        body=manual,
    ),
    Case(
        "GET",
        ENTRY,
        expect(200, 200, 403, 403, 404),
        path=lambda w: f"/api/v1/time-entries/{target_entry(w)}",
    ),
    Case(
        "PUT",
        ENTRY,
        expect(200, 200, 403, 403, 404),
        path=lambda w: f"/api/v1/time-entries/{target_entry(w)}",
        body=lambda w, r: {"description": "corrected"},
    ),
    Case(
        "DELETE",
        ENTRY,
        expect(204, 204, 403, 403, 404),
        path=lambda w: f"/api/v1/time-entries/{target_entry(w)}",
    ),
    Case(
        "POST",
        "/api/v1/time-tracking/start",
        expect(201, 201, 201, 403, 404),
        path=lambda w: "/api/v1/time-tracking/start",
        body=lambda w, r: {"project_id": project(w), "description": "go"},
        prepare=no_timer,
    ),
    Case(
        "PUT",
        "/api/v1/time-tracking/stop",
        TIMER,
        path=lambda w: "/api/v1/time-tracking/stop",
        prepare=lambda c, w, r: fresh_timer(c, w, r),
    ),
    Case(
        "PUT",
        "/api/v1/time-tracking/pause",
        TIMER,
        path=lambda w: "/api/v1/time-tracking/pause",
        prepare=lambda c, w, r: fresh_timer(c, w, r),
    ),
    Case(
        "PUT",
        "/api/v1/time-tracking/resume",
        TIMER,
        path=lambda w: "/api/v1/time-tracking/resume",
        prepare=lambda c, w, r: fresh_timer(c, w, r, "pause"),
    ),
    Case("GET", "/api/v1/time-tracking/active", OWN, path=lambda w: "/api/v1/time-tracking/active"),
    Case("GET", "/api/v1/time-tracking/today", OWN, path=lambda w: "/api/v1/time-tracking/today"),
    Case("GET", "/api/v1/time-tracking/week", OWN, path=lambda w: "/api/v1/time-tracking/week"),
    Case(
        "GET",
        "/api/v1/time-tracking/report",
        IN_PROJECT,
        path=lambda w: f"/api/v1/time-tracking/report?project_id={project(w)}&group_by=user",
    ),
    Case(
        "GET",
        "/api/v1/time-tracking/settings",
        OWN,
        path=lambda w: "/api/v1/time-tracking/settings",
    ),
    Case(
        "PUT",
        "/api/v1/time-tracking/settings",
        OWN,
        path=lambda w: "/api/v1/time-tracking/settings",
        body=lambda w, r: {"default_billable": True},
    ),
]
