"""Authorization matrix rows for the projects and activity-feed endpoints (see tests/support/authz.py).

Reads are open to every role, writes to owner/admin/member, deletion to owner/admin; a
signed-in outsider gets 404 (the project does not exist for them), anon 401.
"""

from __future__ import annotations

from tests.support.authz import Case, World, expect

P = "/api/v1/projects/{project_id}"


def project(world: World) -> dict:
    return world.ensure(
        "project",
        lambda w: w.post(
            "/api/v1/projects", {"workspace_id": w.workspace["id"], "name": "Matrix project"}
        ),
    )


def at(suffix: str = ""):
    return lambda w: f"/api/v1/projects/{project(w)['id']}{suffix}"


def target_in_project(client, world: World, role: str) -> None:
    """The target (a plain workspace member) joins the project, added by the owner."""
    world.post(f"{at('/members')(world)}", {"user_id": world.target["user"]["id"]})


CASES: list[Case] = [
    # Outsiders see an empty list: only their own workspaces' projects.
    Case(
        "GET",
        "/api/v1/projects",
        expect(200, 200, 200, 200, 200),
        path=lambda w: "/api/v1/projects",
    ),
    Case(
        "POST",
        "/api/v1/projects",
        expect(201, 201, 201, 403, 404),
        path=lambda w: "/api/v1/projects",
        body=lambda w, r: {"workspace_id": w.workspace["id"], "name": f"By {r}"},
    ),
    Case("GET", P, expect(200, 200, 200, 200, 404), path=at()),
    Case(
        "PUT",
        P,
        expect(200, 200, 200, 403, 404),
        path=at(),
        body=lambda w, r: {"name": "Renamed", "status": "active"},
    ),
    Case("DELETE", P, expect(204, 204, 403, 403, 404), path=at()),
    Case("GET", f"{P}/members", expect(200, 200, 200, 200, 404), path=at("/members")),
    Case(
        "POST",
        f"{P}/members",
        expect(201, 201, 201, 403, 404),
        path=at("/members"),
        body=lambda w, r: {"user_id": w.target["user"]["id"], "role": "QA"},
    ),
    Case(
        "DELETE",
        f"{P}/members/{{user_id}}",
        expect(204, 204, 204, 403, 404),
        path=lambda w: at(f"/members/{w.target['user']['id']}")(w),
        prepare=target_in_project,
    ),
    Case("GET", f"{P}/activity", expect(200, 200, 200, 200, 404), path=at("/activity")),
    Case("GET", f"{P}/analytics", expect(200, 200, 200, 200, 404), path=at("/analytics")),
    Case(
        "GET",
        "/api/v1/workspaces/{workspace_id}/activities",
        expect(200, 200, 200, 200, 404),
        path=lambda w: f"/api/v1/workspaces/{w.workspace['id']}/activities",
    ),
]
