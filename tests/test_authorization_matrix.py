"""Every endpoint's outcome for owner, admin, member, viewer, a signed-in outsider and anon.

The route table itself is checked: an /api/v1 endpoint with no case here (or no explicit
reason to be outside the workspace matrix) fails the suite.
"""

from __future__ import annotations

import pytest

from tests.support import (
    authz_analytics,
    authz_comments,
    authz_exports,
    authz_files,
    authz_imports,
    authz_kanban,
    authz_milestones,
    authz_notifications,
    authz_projects,
    authz_resources,
    authz_tasks,
    authz_templates,
    authz_time_tracking,
    authz_webhooks,
)
from tests.support.authz import ROLES, Case, World, build_world, expect

WS = "/api/v1/workspaces/{workspace_id}"


def ws(world: World) -> str:
    return f"/api/v1/workspaces/{world.workspace['id']}"


def invite_for_caller(client, world: World, role: str) -> None:
    """An invitation addressed to the caller, created by the owner."""
    if role == "anon":
        world.token = "x" * 43
        return
    response = client.post(
        f"{ws(world)}/invite",
        json={"email": world.users[role]["user"]["email"], "role": "member"},
        headers=world.users["owner"]["headers"],
    )
    assert response.status_code == 201, response.text
    world.token = response.json()["token"]


CASES = [
    Case(
        "GET",
        "/api/v1/workspaces",
        expect(200, 200, 200, 200, 200),
        path=lambda w: "/api/v1/workspaces",
    ),
    Case(
        "POST",
        "/api/v1/workspaces",
        expect(201, 201, 201, 201, 201),
        path=lambda w: "/api/v1/workspaces",
        body=lambda w, r: {"name": "Another"},
    ),
    Case("GET", WS, expect(200, 200, 200, 200, 404)),
    Case("PUT", WS, expect(200, 200, 403, 403, 404), body=lambda w, r: {"name": "Renamed"}),
    Case("DELETE", WS, expect(204, 403, 403, 403, 404)),
    Case(
        "GET", f"{WS}/members", expect(200, 200, 200, 200, 404), path=lambda w: f"{ws(w)}/members"
    ),
    Case(
        "POST",
        f"{WS}/members",
        expect(201, 201, 403, 403, 404),
        path=lambda w: f"{ws(w)}/members",
        body=lambda w, r: {"user_id": w.spare["user"]["id"], "role": "member"},
    ),
    Case(
        "PUT",
        f"{WS}/members/{{user_id}}",
        expect(200, 200, 403, 403, 404),
        path=lambda w: f"{ws(w)}/members/{w.target['user']['id']}",
        body=lambda w, r: {"role": "viewer"},
    ),
    Case(
        "DELETE",
        f"{WS}/members/{{user_id}}",
        expect(204, 204, 403, 403, 404),
        path=lambda w: f"{ws(w)}/members/{w.target['user']['id']}",
    ),
    Case(
        "POST",
        f"{WS}/invite",
        expect(201, 201, 403, 403, 404),
        path=lambda w: f"{ws(w)}/invite",
        body=lambda w, r: {"email": "someone-new@example.com", "role": "member"},
    ),
    # Accepting an invitation addressed to oneself: members already belong (409), the
    # outsider joins (200).
    Case(
        "GET",
        f"{WS}/invite/{{token}}",
        expect(409, 409, 409, 409, 200),
        path=lambda w: f"{ws(w)}/invite/{w.token}",
        prepare=invite_for_caller,
    ),
]

CASES += [
    *authz_projects.CASES,
    *authz_kanban.CASES,
    *authz_tasks.CASES,
    *authz_comments.CASES,
    *authz_time_tracking.CASES,
    *authz_files.CASES,
    *authz_resources.CASES,
    *authz_milestones.CASES,
    *authz_notifications.CASES,
    *authz_templates.CASES,
    *authz_analytics.CASES,
    *authz_exports.CASES,
    *authz_webhooks.CASES,
    *authz_imports.CASES,
]

# Endpoints that are not scoped to a workspace: covered by their own tests.
OUTSIDE_MATRIX = {
    ("POST", "/api/v1/auth/register"): "public",
    ("POST", "/api/v1/auth/login"): "public",
    ("POST", "/api/v1/auth/refresh"): "public (refresh token)",
    ("POST", "/api/v1/auth/forgot-password"): "public",
    ("POST", "/api/v1/auth/reset-password"): "public (reset token)",
    ("POST", "/api/v1/auth/logout"): "the caller's own session",
    ("GET", "/api/v1/auth/me"): "the caller",
    ("PUT", "/api/v1/auth/me"): "the caller",
    ("PUT", "/api/v1/auth/password"): "the caller",
    ("GET", "/api/v1/auth/me/export"): "the caller",
    ("GET", "/api/v1/users"): "site administrators (test_identity_users)",
    ("GET", "/api/v1/users/{user_id}"): "self or administrator (test_identity_users)",
    ("PUT", "/api/v1/users/{user_id}"): "self or administrator (test_identity_users)",
    ("DELETE", "/api/v1/users/{user_id}"): "self or administrator (test_identity_users)",
}


@pytest.fixture(scope="module")
def role_users(client):
    from tests.support.api import Api

    api = Api(client)
    return {role: api.register(name=role.title()) for role in ROLES if role != "anon"}


def test_every_api_route_has_a_matrix_row_or_a_reason(client):
    covered = {(c.method, c.route) for c in CASES} | set(OUTSIDE_MATRIX)
    paths = client.app.openapi()["paths"]  # the route table, as published
    routes = {
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/api/v1")
        for method in operations
    }
    assert routes - covered == set(), "endpoints without an authorization matrix row"
    assert covered - routes == set(), "matrix rows for endpoints that do not exist"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_authorization_matrix(case: Case, role_users, api, client):
    outcomes: dict[str, int] = {}
    changed = True  # the world may have changed: the next role needs a fresh one
    for role in ROLES:
        # Fresh for the first role, after a success of a case that changes state, and for
        # every role of a case with ``prepare`` (it sets the world up for one role). A read
        # changes nothing, nor should a refusal (the next role's expected status would show
        # most changes one made): the next role asks in the same world.
        if changed or case.prepare:
            world = build_world(api, client, role_users)
        if case.prepare:
            case.prepare(client, world, role)
        path = case.path(world) if case.path else ws(world)
        kwargs = {"headers": world.headers(role)}
        if case.body:
            kwargs["json"] = case.body(world, role)
        if case.files:
            kwargs["files"] = case.files(world, role)
        response = client.request(case.method, path, **kwargs)
        outcomes[role] = response.status_code
        changed = bool(case.changes_state) and response.status_code < 400
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json"
    assert outcomes == case.expected
