"""Authorization matrix rows for imports: owners and admins import and read an import's
status; members and viewers 403; outsiders 404."""

from __future__ import annotations

import json
import time

from tests.support.authz import Case, World, expect

WS = "/api/v1/workspaces/{workspace_id}"
EXPORT = json.dumps(
    {
        "id": "5f1a00000000000000000c01",
        "name": "Matrix",
        "lists": [{"id": "l1", "name": "List", "pos": 1}],
        "cards": [{"id": "c1", "name": "Card", "idList": "l1", "pos": 1}],
    }
).encode()


def ws(w: World) -> str:
    return f"/api/v1/workspaces/{w.workspace['id']}"


def done_import(w: World) -> str:
    """An import into the world's workspace, made by the owner and done."""

    def make(w: World) -> str:
        response = w.client.post(
            f"{ws(w)}/imports/trello",
            files={"file": ("board.json", EXPORT, "application/json")},
            headers=w.headers("owner"),
        )
        assert response.status_code == 202, response.text
        row = response.json()
        deadline = time.monotonic() + 20
        while row["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, row
            time.sleep(0.05)
            row = w.client.get(f"{ws(w)}/imports/{row['id']}", headers=w.headers("owner")).json()
        assert row["status"] == "done", row
        return row["id"]

    return w.ensure("import", make)


WORKSYNC = json.dumps(
    {"format": "worksync-workspace-export", "format_version": 1, "collections": {}}
).encode()

CASES: list[Case] = [
    Case(
        "POST",
        f"{WS}/imports/worksync",
        expect(202, 202, 403, 403, 404),
        path=lambda w: f"{ws(w)}/imports/worksync",
        files=lambda w, r: {"file": ("export.json", WORKSYNC, "application/json")},
    ),
    Case(
        "POST",
        f"{WS}/imports/trello",
        expect(202, 202, 403, 403, 404),
        path=lambda w: f"{ws(w)}/imports/trello",
        files=lambda w, r: {"file": ("board.json", EXPORT, "application/json")},
    ),
    Case(
        "GET",
        f"{WS}/imports/{{import_id}}",
        expect(200, 200, 403, 403, 404),
        path=lambda w: f"{ws(w)}/imports/{done_import(w)}",
    ),
]
