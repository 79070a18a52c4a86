"""Authorization matrix rows for workspace exports: owners and admins start, list, read and
download them; members and viewers 403; outsiders 404."""

from __future__ import annotations

import time

from tests.support.authz import Case, World, expect

WS = "/api/v1/workspaces/{workspace_id}"
MANAGE = expect(200, 200, 403, 403, 404)


def ws(w: World) -> str:
    return f"/api/v1/workspaces/{w.workspace['id']}"


def ready_export(w: World) -> str:
    """An export of the world's workspace, made by the owner and ready."""

    def make(w: World) -> str:
        response = w.client.post(
            f"{ws(w)}/exports", json={"format": "json"}, headers=w.headers("owner")
        )
        assert response.status_code == 202, response.text
        export = response.json()
        deadline = time.monotonic() + 20
        while export["status"] != "ready":
            assert time.monotonic() < deadline, export
            time.sleep(0.05)
            export = w.client.get(
                f"{ws(w)}/exports/{export['id']}", headers=w.headers("owner")
            ).json()
        return export["id"]

    return w.ensure("export", make)


CASES: list[Case] = [
    Case(
        "POST",
        f"{WS}/exports",
        expect(202, 202, 403, 403, 404),
        path=lambda w: f"{ws(w)}/exports",
        body=lambda w, r: {"format": "csv"},
    ),
    Case("GET", f"{WS}/exports", MANAGE, path=lambda w: f"{ws(w)}/exports"),
    Case(
        "GET",
        f"{WS}/exports/{{export_id}}",
        MANAGE,
        path=lambda w: f"{ws(w)}/exports/{ready_export(w)}",
    ),
    Case(
        "GET",
        f"{WS}/exports/{{export_id}}/download",
        MANAGE,
        path=lambda w: f"{ws(w)}/exports/{ready_export(w)}/download",
    ),
]
