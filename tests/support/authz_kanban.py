"""Authorization matrix rows for the kanban endpoints (see tests/support/authz.py)."""

from __future__ import annotations

from tests.support.authz import Case, World, expect

READ = expect(200, 200, 200, 200, 404)


def project(w: World) -> str:
    return w.ensure(
        "kanban_project",
        lambda w: w.post("/api/v1/projects", {"workspace_id": w.workspace["id"], "name": "P"})[
            "id"
        ],
    )


def board(w: World) -> dict:
    return w.ensure(
        "board",
        lambda w: w.post(
            f"/api/v1/projects/{project(w)}/boards",
            {"name": "B", "columns": [{"name": "Todo"}, {"name": "Done", "is_done_column": True}]},
        ),
    )


def column(w: World, index: int = 0) -> str:
    return board(w)["columns"][index]["id"]


def card(w: World) -> str:
    return w.ensure(
        "card", lambda w: w.post(f"/api/v1/columns/{column(w)}/cards", {"title": "C"})["id"]
    )


CASES = [
    Case(
        "GET",
        "/api/v1/projects/{project_id}/boards",
        READ,
        path=lambda w: f"/api/v1/projects/{project(w)}/boards",
    ),
    Case(
        "POST",
        "/api/v1/projects/{project_id}/boards",
        expect(201, 201, 201, 403, 404),
        path=lambda w: f"/api/v1/projects/{project(w)}/boards",
        body=lambda w, r: {"name": "New"},
    ),
    Case(
        "GET", "/api/v1/boards/{board_id}", READ, path=lambda w: f"/api/v1/boards/{board(w)['id']}"
    ),
    Case(
        "PUT",
        "/api/v1/boards/{board_id}",
        expect(200, 200, 200, 403, 404),
        path=lambda w: f"/api/v1/boards/{board(w)['id']}",
        body=lambda w, r: {"name": "Renamed"},
    ),
    Case(
        "DELETE",
        "/api/v1/boards/{board_id}",
        expect(204, 204, 204, 403, 404),
        path=lambda w: f"/api/v1/boards/{board(w)['id']}",
    ),
    Case(
        "GET",
        "/api/v1/boards/{board_id}/columns",
        READ,
        path=lambda w: f"/api/v1/boards/{board(w)['id']}/columns",
    ),
    Case(
        "POST",
        "/api/v1/boards/{board_id}/columns",
        expect(201, 201, 201, 403, 404),
        path=lambda w: f"/api/v1/boards/{board(w)['id']}/columns",
        body=lambda w, r: {"name": "Review"},
    ),
    Case(
        "PUT",
        "/api/v1/columns/{column_id}",
        expect(200, 200, 200, 403, 404),
        path=lambda w: f"/api/v1/columns/{column(w)}",
        body=lambda w, r: {"name": "Backlog"},
    ),
    Case(
        "DELETE",
        "/api/v1/columns/{column_id}",
        expect(204, 204, 204, 403, 404),
        path=lambda w: f"/api/v1/columns/{column(w, 1)}",
    ),
    Case(
        "PUT",
        "/api/v1/columns/{column_id}/position",
        expect(200, 200, 200, 403, 404),
        path=lambda w: f"/api/v1/columns/{column(w, 1)}/position",
        body=lambda w, r: {"position": 0},
    ),
    Case(
        "GET",
        "/api/v1/columns/{column_id}/cards",
        READ,
        path=lambda w: f"/api/v1/columns/{column(w)}/cards",
    ),
    Case(
        "POST",
        "/api/v1/columns/{column_id}/cards",
        expect(201, 201, 201, 403, 404),
        path=lambda w: f"/api/v1/columns/{column(w)}/cards",
        body=lambda w, r: {"title": "New"},
    ),
    Case("GET", "/api/v1/cards/{card_id}", READ, path=lambda w: f"/api/v1/cards/{card(w)}"),
    Case(
        "PUT",
        "/api/v1/cards/{card_id}",
        expect(200, 200, 200, 403, 404),
        path=lambda w: f"/api/v1/cards/{card(w)}",
        body=lambda w, r: {"title": "Edited"},
    ),
    Case(
        "DELETE",
        "/api/v1/cards/{card_id}",
        expect(204, 204, 204, 403, 404),
        path=lambda w: f"/api/v1/cards/{card(w)}",
    ),
    Case(
        "PUT",
        "/api/v1/cards/{card_id}/move",
        expect(200, 200, 200, 403, 404),
        path=lambda w: f"/api/v1/cards/{card(w)}/move",
        body=lambda w, r: {"column_id": column(w, 1)},
    ),
    Case(
        "GET",
        "/api/v1/cards/{card_id}/activities",
        READ,
        path=lambda w: f"/api/v1/cards/{card(w)}/activities",
    ),
]

CASES.append(
    Case(
        "GET",
        "/api/v1/audit/{object_type}/{object_id}",
        READ,
        path=lambda w: f"/api/v1/audit/card/{card(w)}",
    )
)
