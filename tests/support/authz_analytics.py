"""Authorization matrix rows for the analytics endpoints (see tests/support/authz.py).

Every member of a workspace, viewers too, reads its analytics (``analytics:read``); asked
about the workspace or one of its projects, an outsider gets 404 as if neither existed."""

from __future__ import annotations

from tests.support.authz import Case, expect
from tests.support.authz_tasks import project_of

READ = expect(200, 200, 200, 200, 404)
A = "/api/v1/analytics"


def in_workspace(endpoint: str):
    return lambda w: f"{A}/{endpoint}?workspace_id={w.workspace['id']}"


CASES: list[Case] = [
    Case("GET", f"{A}/dashboard", READ, path=in_workspace("dashboard")),
    Case(
        "GET",
        f"{A}/projects/{{project_id}}",
        READ,
        path=lambda w: f"{A}/projects/{project_of(w)}",
    ),
    Case("GET", f"{A}/time-tracking", READ, path=in_workspace("time-tracking")),
    Case("GET", f"{A}/resource-utilization", READ, path=in_workspace("resource-utilization")),
    Case("GET", f"{A}/milestones", READ, path=in_workspace("milestones")),
]
