"""Authorization matrix rows for the resource allocation endpoints (see tests/support/authz.py).

Managers (owner, admin) add and change team members, allocations and conflicts, and run the
optimizer (it may apply a bulk change); every member, viewers too, reads team members,
allocations, conflicts, utilization and the forecast (403 for their changes); outsiders see
nothing of the workspace (404).
"""

from __future__ import annotations

import time
from typing import Any

from tests.support.authz import Case, World, expect

READ = expect(200, 200, 200, 200, 404)
MANAGE = expect(200, 200, 403, 403, 404)
CREATE = expect(201, 201, 403, 403, 404)
DELETE = expect(204, 204, 403, 403, 404)
WS = "/api/v1/workspaces/{workspace_id}"


def ws(w: World) -> str:
    return f"/api/v1/workspaces/{w.workspace['id']}"


def project(w: World) -> str:
    return w.ensure(
        "resources_project",
        lambda w: w.post("/api/v1/projects", {"workspace_id": w.workspace["id"], "name": "R"})[
            "id"
        ],
    )


def team_member(w: World) -> dict:
    """The plain member ``target`` as a team member."""
    return w.ensure(
        "team_member",
        lambda w: w.post(f"{ws(w)}/team-members", {"user_id": w.target["user"]["id"]}),
    )


def allocation(w: World, hours: float = 10) -> dict:
    team_member(w)
    body = {
        "project_id": project(w),
        "user_id": w.target["user"]["id"],
        "hours_per_week": hours,
        "start_date": "2027-01-04",
        "end_date": "2027-01-10",
    }
    return w.post(f"{ws(w)}/allocations", body)


def the_allocation(w: World) -> dict:
    return w.ensure("allocation", allocation)


def conflict(w: World) -> dict:
    """A conflict of ``target``: 30 + 30 hours on 40, found by the policy."""

    def make(w: World) -> dict:
        allocation(w, 30)
        allocation(w, 30)
        headers = w.headers("owner")
        for _ in range(400):
            found = w.client.get(f"{ws(w)}/conflicts", headers=headers).json()["data"]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError("no conflict detected")

    return w.ensure("conflict", make)


def new_allocation(w: World, role: str) -> dict[str, Any]:
    team_member(w)
    return {
        "project_id": project(w),
        "user_id": w.target["user"]["id"],
        "hours_per_week": 5,
        "start_date": "2027-02-01",
        "end_date": "2027-02-07",
    }


CASES = [
    Case("GET", f"{WS}/team-members", READ, path=lambda w: f"{ws(w)}/team-members"),
    Case(
        "POST",
        f"{WS}/team-members",
        CREATE,
        path=lambda w: f"{ws(w)}/team-members",
        body=lambda w, r: {"user_id": w.target["user"]["id"], "skills": ["python"]},
    ),
    Case(
        "PUT",
        "/api/v1/team-members/{team_member_id}",
        MANAGE,
        path=lambda w: f"/api/v1/team-members/{team_member(w)['id']}",
        body=lambda w, r: {"capacity": 32},
    ),
    Case(
        "GET",
        f"{WS}/allocations",
        READ,
        path=lambda w: f"{ws(w)}/allocations?project_id={the_allocation(w)['project_id']}",
    ),
    Case(
        "POST",
        f"{WS}/allocations",
        CREATE,
        path=lambda w: f"{ws(w)}/allocations",
        body=new_allocation,
    ),
    Case(
        "GET",
        "/api/v1/allocations/{allocation_id}",
        READ,
        path=lambda w: f"/api/v1/allocations/{the_allocation(w)['id']}",
    ),
    Case(
        "PUT",
        "/api/v1/allocations/{allocation_id}",
        MANAGE,
        path=lambda w: f"/api/v1/allocations/{the_allocation(w)['id']}",
        body=lambda w, r: {"hours_per_week": 12},
    ),
    Case(
        "DELETE",
        "/api/v1/allocations/{allocation_id}",
        DELETE,
        path=lambda w: f"/api/v1/allocations/{the_allocation(w)['id']}",
    ),
    Case(
        "PUT",
        "/api/v1/allocations/bulk-update",
        MANAGE,
        path=lambda w: "/api/v1/allocations/bulk-update",
        body=lambda w, r: {
            "workspace_id": w.workspace["id"],
            "changes": [{"id": the_allocation(w)["id"], "hours_per_week": 8}],
        },
    ),
    Case("GET", f"{WS}/conflicts", READ, path=lambda w: f"{ws(w)}/conflicts?status=active"),
    Case(
        "PUT",
        "/api/v1/conflicts/{conflict_id}/resolve",
        MANAGE,
        path=lambda w: f"/api/v1/conflicts/{conflict(w)['id']}/resolve",
        body=lambda w, r: {"status": "ignored", "details": {"note": "agreed"}},
    ),
    Case(
        "GET",
        f"{WS}/utilization",
        READ,
        path=lambda w: f"{ws(w)}/utilization?from=2027-01-04&to=2027-01-31",
    ),
    Case("GET", f"{WS}/capacity-forecast", READ, path=lambda w: f"{ws(w)}/capacity-forecast"),
    Case(
        "POST",
        f"{WS}/optimize-allocations",
        MANAGE,
        path=lambda w: f"{ws(w)}/optimize-allocations",
        body=lambda w, r: {"start_date": "2027-01-04", "weeks": 2, "time_limit_seconds": 1},
    ),
]
