"""Authorization matrix rows for the project templates endpoints (see tests/support/authz.py).

The world's template is private to its workspace, made by the owner: every member reads it,
uses it (writers: a project is made) and reads its analytics; its managers change and delete
it (a plain member only their own); outsiders see nothing (404). Lists, categories and search
are everyone's (what each caller may see).
"""

from __future__ import annotations

from tests.support.authz import Case, World, expect

EVERYONE = expect(200, 200, 200, 200, 200)
READ = expect(200, 200, 200, 200, 404)
TEMPLATE = "/api/v1/templates/{template_id}"


def template_of(w: World) -> str:
    return w.ensure(
        "project_template",
        lambda w: w.post(
            "/api/v1/templates",
            {
                "workspace_id": w.workspace["id"],
                "name": "Matrix template",
                "category": "Matrix",
                "phases": [
                    {
                        "name": "One",
                        "estimated_duration": 3,
                        "tasks": [{"title": "First"}, {"title": "Then", "dependencies": ["1.1"]}],
                    }
                ],
            },
        )["id"],
    )


CASES: list[Case] = [
    Case("GET", "/api/v1/templates", EVERYONE, path=lambda w: "/api/v1/templates"),
    Case(
        "POST",
        "/api/v1/templates",
        expect(201, 201, 201, 403, 404),
        path=lambda w: "/api/v1/templates",
        body=lambda w, r: {
            "workspace_id": w.workspace["id"],
            "name": "New",
            "phases": [{"name": "Only", "estimated_duration": 1}],
        },
    ),
    Case(
        "GET",
        "/api/v1/templates/categories",
        EVERYONE,
        path=lambda w: "/api/v1/templates/categories",
    ),
    Case(
        "GET",
        "/api/v1/templates/search",
        EVERYONE,
        path=lambda w: "/api/v1/templates/search?q=matrix",
    ),
    Case("GET", TEMPLATE, READ, path=lambda w: f"/api/v1/templates/{template_of(w)}"),
    Case(
        "PUT",
        TEMPLATE,
        expect(200, 200, 403, 403, 404),
        path=lambda w: f"/api/v1/templates/{template_of(w)}",
        body=lambda w, r: {"name": "Renamed", "tags": ["x"]},
    ),
    Case(
        "DELETE",
        TEMPLATE,
        expect(204, 204, 403, 403, 404),
        path=lambda w: f"/api/v1/templates/{template_of(w)}",
    ),
    Case(
        "POST",
        f"{TEMPLATE}/use",
        expect(201, 201, 201, 403, 404),
        path=lambda w: f"/api/v1/templates/{template_of(w)}/use",
        body=lambda w, r: {
            "workspace_id": w.workspace["id"],
            "project_name": "From the matrix",
            "start_date": "2030-03-01",
            "create_board": True,
        },
    ),
    Case(
        "GET",
        f"{TEMPLATE}/analytics",
        READ,
        path=lambda w: f"/api/v1/templates/{template_of(w)}/analytics",
    ),
]
