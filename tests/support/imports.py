"""Helpers for import tests: the Trello export fixture (tests/data/trello/board.json, written
from Trello's documented board JSON), uploading it, waiting for an import's job, and the
log's head (to show that a refused import appended nothing)."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import psycopg

from interfaces.bootstrap import POLICY_NAMES

BOARD = Path(__file__).resolve().parent.parent / "data" / "trello" / "board.json"

# Trello ids of the fixture
ALICE, BOB, CAROL, DAVE = (f"5f1a000000000000000000e{i}" for i in range(1, 5))
PRESS_RELEASE = "5f1a000000000000000003c1"


def trello_board(**emails: str | None) -> dict[str, Any]:
    """The fixture's document, with members' e-mails replaced (``alice="..."``; None drops
    it), since accounts' e-mails are unique across the test database."""
    doc = json.loads(BOARD.read_text())
    for member in doc["members"]:
        key = member["fullName"].split()[0].lower()  # alice, bob, carol, dave
        if key in emails:
            if emails[key] is None:
                member.pop("email", None)
            else:
                member["email"] = emails[key]
    return doc


def with_board_id(doc: dict[str, Any], board_id: str) -> dict[str, Any]:
    """The same export as if of another board (another project when imported)."""
    other = copy.deepcopy(doc)
    other["id"] = board_id
    return other


def upload(client: Any, user: dict, workspace_id: str, data: bytes, **form: Any):
    return client.post(
        f"/api/v1/workspaces/{workspace_id}/imports/trello",
        files={"file": ("board.json", data, "application/json")},
        data={k: str(v).lower() if isinstance(v, bool) else v for k, v in form.items()},
        headers=user["headers"],
    )


def wait_import(client: Any, user: dict, location: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        row = client.get(location, headers=user["headers"]).json()
        if row["status"] in ("done", "failed") or time.monotonic() > deadline:
            return row
        time.sleep(0.05)


def _head(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT coalesce(max(notification_id), 0) FROM worksync_events"
        ).fetchone()[0]


def log_head(database_url: str, timeout: float = 20.0) -> int:
    """The log's head once it has settled: the policies have reached it and appended nothing
    more (an import's assignments make notifications, appended after it)."""
    names = list(POLICY_NAMES)
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            head = _head(database_url)
            behind = conn.execute(
                "SELECT count(*) FROM projection_tracking WHERE name = ANY(%s) AND position < %s",
                (names, head),
            ).fetchone()[0]
            if behind == 0 and _head(database_url) == head:
                return head
            assert time.monotonic() < deadline, "the policies did not settle"
            time.sleep(0.05)


def wait_projected(database_url: str, names: tuple[str, ...], timeout: float = 20.0) -> None:
    """Until the named projections have reached the log's head as it is now."""
    head = _head(database_url)
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            behind = conn.execute(
                "SELECT count(*) FROM projection_tracking WHERE name = ANY(%s) AND position < %s",
                (list(names), head),
            ).fetchone()[0]
            if behind == 0:
                return
            assert time.monotonic() < deadline, f"{names} did not reach {head}"
            time.sleep(0.05)


def import_count(database_url: str, workspace_id: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM workspace_imports WHERE workspace_id = %s", (workspace_id,)
        ).fetchone()[0]
