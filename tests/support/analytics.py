"""A small fixture workspace for the analytics tests, built through the API at chosen times.

The server's clock (time tracking's ``now``) and the event clock (eventsourcing's timestamps,
hence ``created_at``/``completed_at`` in the read tables) are both set by hand, so every figure
can be computed by hand. The owner reads in America/New_York (UTC-5 in January): several items
sit on one side of a day or week boundary there and on the other in UTC.

Times are UTC; "NY" is the owner's local time.

- Time entries (project P): owner e1 Mon 6 Jan 14:00-16:00 (2 h, billable at the owner's
  default rate 100), e2 Tue 7 Jan 03:00-04:30 (1.5 h billable; NY: Mon 6 Jan 22:00); member
  e3 Tue 7 Jan 15:00-18:00 (3 h billable at 50), e4 Wed 8 Jan 10:00-11:00 (1 h, not billable),
  e5 Mon 13 Jan 02:00-04:00 (2 h billable, no rate; NY: Sun 12 Jan 21:00).
- Tasks: t1 (4 h) created 2 Jan 15:00, done 6 Jan 15:00; t2 (6 h) created 2 Jan 15:00, done
  8 Jan 03:00 (NY 7 Jan); t3 (2 h) created 3 Jan 15:00, todo, due 10 Jan; t4 (8 h) created
  3 Jan 15:00, cancelled 7 Jan; t5 (1 h) created 7 Jan 15:00, in progress, due 20 Jan.
- Cards (board To do / Doing / Done): c1 (3 h) created 2 Jan 15:00 in To do, moved to Done
  9 Jan 15:00; c2 (2 h) created 6 Jan 15:00 in Doing, due 11 Jan.
- Milestones: m1 due 8 Jan, completed 9 Jan 03:00 (NY 8 Jan: on time there, late in UTC);
  m2 due 7 Jan, completed 9 Jan 15:00 (late); m3 due 10 Jan, pending (overdue); m4 due
  20 Jan, pending (upcoming); m5 due 9 Jan, cancelled.
- Resources: the member is a team member with 20 h a week, allocated 30 h a week from 6 to
  12 Jan (a conflict of 50 %).
- ``NOW`` is Mon 13 Jan 04:30 UTC = Sun 12 Jan 23:30 NY.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.api import Api
from tests.support.authz import add_member
from tests.support.kanban import create_board, create_card, create_project
from tests.support.milestones import eventually
from tests.support.time_tracking import FakeClock

NOW = datetime(2025, 1, 13, 4, 30, tzinfo=UTC)
NEW_YORK = "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@dataclass
class Analytics:
    """The fixture workspace: its users (owner, member, viewer, outsider) and objects."""

    client: Any
    users: dict[str, dict]
    workspace_id: str
    project_id: str
    ids: dict[str, str] = field(default_factory=dict)

    def get(self, path: str, role: str = "owner", **params: Any) -> Any:
        headers = self.users[role]["headers"] if role != "anon" else {}
        return self.client.get(f"/api/v1/analytics{path}", params=params, headers=headers)

    def ok(self, path: str, role: str = "owner", **params: Any) -> dict:
        response = self.get(path, role, **params)
        assert response.status_code == 200, response.text
        return response.json()


@contextmanager
def event_clock(clock: FakeClock) -> Iterator[None]:
    """Events are stamped by ``clock`` (eventsourcing reads its own clock per event)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("eventsourcing.domain.datetime_now_with_tzinfo", clock)
        yield


def build(api: Api, client: Any, clock: FakeClock) -> Analytics:
    users = {role: api.register(name=role.title()) for role in ("owner", "member", "viewer")}
    users["outsider"] = api.register(name="Outsider")
    owner = users["owner"]
    workspace_id = api.create_workspace(owner, name="Analytics")["id"]
    for role in ("member", "viewer"):
        add_member(client, workspace_id, owner, users[role]["user"]["id"], role)
    api.create_workspace(users["outsider"], name="Elsewhere")

    def call(method: str, path: str, body: dict, role: str = "owner") -> dict:
        response = client.request(
            method, f"/api/v1{path}", json=body, headers=users[role]["headers"]
        )
        assert response.status_code in (200, 201), response.text
        return response.json()

    call("PUT", "/time-tracking/settings", {"timezone": NEW_YORK, "default_hourly_rate": 100})
    ids: dict[str, str] = {}
    with event_clock(clock):
        clock.set(utc(2025, 1, 2, 15))
        project_id = create_project(client, owner, workspace_id, "P")
        board = create_board(
            client,
            owner,
            project_id,
            [{"name": "To do"}, {"name": "Doing"}, {"name": "Done", "is_done_column": True}],
        )
        todo, doing, done = (c["id"] for c in board["columns"])
        tasks = f"/projects/{project_id}/tasks"
        ids["t1"] = call("POST", tasks, {"title": "t1", "estimated_hours": 4})["id"]
        ids["t2"] = call("POST", tasks, {"title": "t2", "estimated_hours": 6})["id"]
        ids["c1"] = create_card(client, owner, todo, "c1", estimated_hours=3)["id"]
        clock.set(utc(2025, 1, 3, 15))
        body = {"title": "t3", "estimated_hours": 2, "due_date": "2025-01-10T00:00:00Z"}
        ids["t3"] = call("POST", tasks, body)["id"]
        ids["t4"] = call("POST", tasks, {"title": "t4", "estimated_hours": 8})["id"]
        milestones = f"/projects/{project_id}/milestones"
        for name, due in (("m1", 8), ("m2", 7), ("m3", 10), ("m4", 20), ("m5", 9)):
            body = {"title": name, "due_date": f"2025-01-{due:02d}"}
            ids[name] = call("POST", milestones, body)["id"]
        clock.set(utc(2025, 1, 6, 15))
        call("PUT", f"/tasks/{ids['t1']}", {"status": "done"})
        card = {"estimated_hours": 2, "due_date": "2025-01-11T00:00:00Z"}
        ids["c2"] = create_card(client, owner, doing, "c2", **card)["id"]
        clock.set(utc(2025, 1, 7, 15))
        call("PUT", f"/tasks/{ids['t4']}", {"status": "cancelled"})
        body = {"title": "t5", "estimated_hours": 1, "status": "in_progress"}
        ids["t5"] = call("POST", tasks, body | {"due_date": "2025-01-20T00:00:00Z"})["id"]
        clock.set(utc(2025, 1, 8, 3))
        call("PUT", f"/tasks/{ids['t2']}", {"status": "done"})
        clock.set(utc(2025, 1, 9, 3))
        call("PUT", f"/milestones/{ids['m1']}", {"status": "completed"})
        clock.set(utc(2025, 1, 9, 15))
        call("PUT", f"/milestones/{ids['m2']}", {"status": "completed"})
        call("PUT", f"/milestones/{ids['m5']}", {"status": "cancelled"})
        call("PUT", f"/cards/{ids['c1']}/move", {"column_id": done, "position": 0})

    clock.set(NOW)
    entries = (
        ("owner", utc(2025, 1, 6, 14), utc(2025, 1, 6, 16), {}),
        ("owner", utc(2025, 1, 7, 3), utc(2025, 1, 7, 4, 30), {}),
        ("member", utc(2025, 1, 7, 15), utc(2025, 1, 7, 18), {"hourly_rate": 50}),
        ("member", utc(2025, 1, 8, 10), utc(2025, 1, 8, 11), {"is_billable": False}),
        ("member", utc(2025, 1, 13, 2), utc(2025, 1, 13, 4), {}),
    )
    for role, start, end, extra in entries:
        body = {
            "project_id": project_id,
            "description": "work",
            "start_time": start.isoformat(),
            "end_time": end.isoformat(),
            **extra,
        }
        call("POST", "/time-entries", body, role)

    member_id = users["member"]["user"]["id"]
    call("POST", f"/workspaces/{workspace_id}/team-members", {"user_id": member_id, "capacity": 20})
    allocation = {
        "project_id": project_id,
        "user_id": member_id,
        "hours_per_week": 30,
        "start_date": "2025-01-06",
        "end_date": "2025-01-12",
    }
    call("POST", f"/workspaces/{workspace_id}/allocations", allocation)
    conflicts = f"/api/v1/workspaces/{workspace_id}/conflicts"
    eventually(lambda: client.get(conflicts, headers=owner["headers"]).json()["data"])
    world = Analytics(client, users, workspace_id, project_id, ids)

    def tracked() -> bool:  # the workload policy has counted the member's time
        report = world.ok(
            "/resource-utilization",
            workspace_id=workspace_id,
            **{"from": "2025-01-06", "to": "2025-01-12"},
        )
        users_ = report["workspaces"][0]["users"]
        return bool(users_) and users_[0]["actual"] == 4.0

    eventually(tracked)
    return world
