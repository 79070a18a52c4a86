"""Helpers for tests of the projection engine."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import psycopg

from domain.workspaces import Workspace
from projections import control
from projections.registry import all_projections


def wait_until(
    predicate: Callable[[], bool], timeout: float = 30.0, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def caught_up(url: str, names: list[str] | None = None) -> bool:
    names = names or [p.name for p in all_projections()]
    return all(s.lag == 0 and s.state == "running" for s in control.status(url, names))


def snapshot(url: str, table: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()


def workspace_event_positions(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT notification_id FROM worksync_events WHERE topic LIKE 'domain.workspaces:%'"
            " ORDER BY notification_id"
        ).fetchall()
    return [r[0] for r in rows]


def create_workspaces(
    store, count: int, prefix: str = "ws", renamed: bool = True
) -> list[uuid.UUID]:
    ids = []
    for i in range(count):
        owner = uuid.uuid4()
        workspace = Workspace(name=f"{prefix}-{i}", description=None, settings={}, owner_id=owner)
        if renamed:
            workspace.update(actor_id=owner, name=f"{prefix}-{i}-renamed")
        store.save(workspace)
        ids.append(workspace.id)
    return ids
