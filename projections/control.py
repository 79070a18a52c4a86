"""Operator controls: status (position, head, lag, state, runner, parked events), pause,
resume, and parking a poison event (skip)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from projections.engine import CONTROL_CHANNEL, EVENTS_TABLE, ensure_tracking, lock_key, log_head


@dataclass(frozen=True)
class Parked:
    """An event an operator told a projection (or policy) to pass over."""

    projection: str
    position: int
    topic: str
    reason: str
    parked_by: str
    parked_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "parked_at": self.parked_at.isoformat()}


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    head: int
    state: str
    error: str | None
    error_position: int | None
    runner: bool  # a runner holds this projection's lock
    kind: str = "projection"  # or "policy"
    parked: tuple[Parked, ...] = field(default=())

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "lag": self.lag, "parked": [p.to_json() for p in self.parked]}


PARKED_COLUMNS = "projection, position, topic, reason, parked_by, parked_at"
PARKED = f"SELECT {PARKED_COLUMNS} FROM projection_parked"


def parked_positions(cur: psycopg.Cursor, names: Sequence[str]) -> dict[str, frozenset[int]]:
    """The positions parked for each of these projections (for a rebuild)."""
    cur.execute(
        "SELECT projection, array_agg(position) FROM projection_parked"
        " WHERE projection = ANY(%s) GROUP BY projection",
        (list(names),),
    )
    return {name: frozenset(positions) for name, positions in cur.fetchall()}


def parked(conninfo: str, names: Sequence[str]) -> list[Parked]:
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            PARKED + " WHERE projection = ANY(%s) ORDER BY projection, position", (list(names),)
        ).fetchall()
    return [Parked(*r) for r in rows]


def status(
    conninfo: str, names: Sequence[str], policies: Sequence[str] = ()
) -> list[ProjectionStatus]:
    """The status of these projections and policies (created if missing, as a runner would)."""
    with psycopg.connect(conninfo) as conn:
        ensure_tracking(conn, [n for n in names if n not in policies])
        ensure_tracking(conn, [n for n in names if n in policies], at_head=True)
        with conn.cursor() as cur:
            head = log_head(cur)
            cur.execute(
                "SELECT name, position, state, error, error_position FROM projection_tracking"
                " WHERE name = ANY(%s) ORDER BY name",
                (list(names),),
            )
            rows = cur.fetchall()
            cur.execute(  # this database's runners only (advisory locks are cluster-wide)
                "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            held = {int(r[0]) for r in cur.fetchall()}
    by_name: dict[str, list[Parked]] = {}
    for p in parked(conninfo, names):
        by_name.setdefault(p.projection, []).append(p)
    return [
        ProjectionStatus(
            name=r[0],
            position=int(r[1]),
            head=head,
            state=r[2],
            error=r[3],
            error_position=r[4],
            runner=(lock_key(r[0]) & 0xFFFFFFFF) in held,
            kind="policy" if r[0] in policies else "projection",
            parked=tuple(by_name.get(r[0], ())),
        )
        for r in rows
    ]


class ParkError(ValueError):
    """The event cannot be parked (no such position, or already applied)."""


def park(conninfo: str, name: str, position: int, reason: str, by: str) -> tuple[Parked, bool]:
    """Park the event at ``position`` for projection ``name``: its runner and every rebuild
    pass over it. If the projection failed at that very event, it runs again (returns True);
    a projection paused, or failed at another event, stays so.

    Takes the tracking row's lock, so a runner's batch in flight finishes first. Refuses an
    event the projection already applied (parking it would make a rebuild differ)."""
    if not reason.strip():
        raise ParkError("give a reason")
    with psycopg.connect(conninfo) as conn, conn.transaction():
        tracking = conn.execute(
            "SELECT position, state, error_position FROM projection_tracking"
            " WHERE name = %s FOR UPDATE",
            (name,),
        ).fetchone()
        if tracking is None:
            raise ParkError(f"{name} has no tracking row yet (it never ran)")
        event = conn.execute(
            f"SELECT topic FROM {EVENTS_TABLE} WHERE notification_id = %s", (position,)
        ).fetchone()
        if event is None:
            raise ParkError(f"no event at position {position}")
        if position <= tracking[0]:
            raise ParkError(f"{name} already applied position {position} (it is at {tracking[0]})")
        row = conn.execute(
            "INSERT INTO projection_parked (projection, position, topic, reason, parked_by)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (projection, position)"
            " DO UPDATE SET reason = excluded.reason, parked_by = excluded.parked_by,"
            f" parked_at = now() RETURNING {PARKED_COLUMNS}",
            (name, position, event[0], reason, by),
        ).fetchone()
        resumed = tracking[1] == "failed" and tracking[2] == position
        if resumed:
            conn.execute(
                "UPDATE projection_tracking SET state = 'running', error = NULL,"
                " error_position = NULL, updated_at = now() WHERE name = %s",
                (name,),
            )
        conn.execute("SELECT pg_notify(%s, %s)", (CONTROL_CHANNEL, f"parked:{name}:{position}"))
    return Parked(*row), resumed


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
