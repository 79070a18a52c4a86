"""Operator controls: status (position, head, lag, state, runner), pause, resume."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from projections.engine import CONTROL_CHANNEL, EVENTS_TABLE, ensure_tracking, lock_key, log_head


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    head: int
    state: str
    error: str | None
    error_position: int | None
    runner: bool  # a runner holds this projection's lock

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)


def status(conninfo: str, names: Sequence[str]) -> list[ProjectionStatus]:
    with psycopg.connect(conninfo) as conn:
        ensure_tracking(conn, names)
        with conn.cursor() as cur:
            head = log_head(cur)
            cur.execute(
                "SELECT name, position, state, error, error_position FROM projection_tracking"
                " WHERE name = ANY(%s) ORDER BY name",
                (list(names),),
            )
            rows = cur.fetchall()
            cur.execute("SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted")
            held = {int(r[0]) for r in cur.fetchall()}
    return [
        ProjectionStatus(
            name=r[0],
            position=int(r[1]),
            head=head,
            state=r[2],
            error=r[3],
            error_position=r[4],
            runner=(lock_key(r[0]) & 0xFFFFFFFF) in held,
        )
        for r in rows
    ]


def set_state(conninfo: str, name: str, state: str) -> None:
    """Pause a projection, or resume it (also after a failure, once the cause is fixed)."""
    if state not in ("running", "paused"):
        raise ValueError(f"unknown state {state!r}")
    with psycopg.connect(conninfo) as conn:
        ensure_tracking(conn, [name])
        conn.execute(
            "UPDATE projection_tracking SET state = %s, error = CASE WHEN %s = 'running'"
            " THEN NULL ELSE error END, updated_at = now() WHERE name = %s",
            (state, state, name),
        )
        conn.execute("SELECT pg_notify(%s, %s)", (CONTROL_CHANNEL, f"{state}:{name}"))


async def readiness(
    conn: psycopg.AsyncConnection,
) -> tuple[int, list[tuple[str, int, str, str | None]]]:
    """The log head and each projection's (name, position, state, error), for /ready."""
    cur = await conn.execute(f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}")
    head = (await cur.fetchone())[0]
    cur = await conn.execute(
        "SELECT name, position, state, error FROM projection_tracking ORDER BY name"
    )
    return head, await cur.fetchall()
