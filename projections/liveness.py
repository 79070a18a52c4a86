"""Which projections have a runner right now: a runner holds the projection's advisory lock
(see engine.Projector), so the lock table of this database answers it, for /ready."""

from __future__ import annotations

import psycopg

from projections.engine import lock_key

# pg_try_advisory_lock(bigint) with a key below 2**32: classid 0, objid the key, objsubid 1.
_HELD = (
    "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = 0"
    " AND objsubid = 1 AND database = (SELECT oid FROM pg_database"
    " WHERE datname = current_database())"
)


async def running(conn: psycopg.AsyncConnection, names: list[str]) -> set[str]:
    """The names, among ``names``, whose advisory lock some session of this database holds."""
    cur = await conn.execute(_HELD)
    held = {int(row[0]) for row in await cur.fetchall()}
    return {name for name in names if lock_key(name) in held}
