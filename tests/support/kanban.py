"""Helpers for kanban tests: a project, a board with columns, cards."""

from __future__ import annotations

from typing import Any


def create_project(client: Any, user: dict, workspace_id: str, name: str = "Project") -> str:
    response = client.post(
        "/api/v1/projects",
        json={"workspace_id": workspace_id, "name": name},
        headers=user["headers"],
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def create_board(
    client: Any, user: dict, project_id: str, columns: list[dict] | None = None
) -> dict:
    columns = (
        columns
        if columns is not None
        else [
            {"name": "To do"},
            {"name": "Doing", "wip_limit": 2},
            {"name": "Done", "is_done_column": True},
        ]
    )
    response = client.post(
        f"/api/v1/projects/{project_id}/boards",
        json={"name": "Board", "columns": columns},
        headers=user["headers"],
    )
    assert response.status_code == 201, response.text
    return response.json()


def create_card(client: Any, user: dict, column_id: str, title: str = "Card", **extra: Any) -> dict:
    response = client.post(
        f"/api/v1/columns/{column_id}/cards",
        json={"title": title, **extra},
        headers=user["headers"],
    )
    assert response.status_code == 201, response.text
    return response.json()


def board(client: Any, user: dict, board_id: str) -> dict:
    response = client.get(f"/api/v1/boards/{board_id}", headers=user["headers"])
    assert response.status_code == 200, response.text
    return response.json()


def layout(client: Any, user: dict, board_id: str) -> dict[str, list[str]]:
    """Column name -> card titles in order, checking positions are dense."""
    result = {}
    for column in board(client, user, board_id)["columns"]:
        assert [c["position"] for c in column["cards"]] == list(range(len(column["cards"])))
        result[column["name"]] = [c["title"] for c in column["cards"]]
    return result
