"""Rebuild projections from the whole log into shadow tables, then swap them in atomically.

1. Create schema ``rebuild_<name>`` per projection with an empty copy of each table it owns
   (same columns, constraints and index names). Tables a projection only ever inserts into
   (``append_only``) get their indexes after the load, when building them is cheapest.
2. Replay the log into them in large batches, all the projections in one pass: each batch
   is read once, each event decoded once and handed to every projection that handles it
   (``Projection.apply_batch``), one transaction per batch (``synchronous_commit`` off: a
   crash loses only shadow rows, which the next rebuild drops), reporting progress.
3. In one final transaction: lock the projections' tracking rows (their live runners wait),
   apply what arrived meanwhile, replace the live tables by the shadow ones, and set the
   tracking positions. Readers see either the old tables or the new ones, never a mix.

Events parked for a projection (``worksync projections skip``) are passed over for it, as
its live runner does. Policies are never rebuilt (their effects happened once).
"""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from eventsourcing.persistence import Mapper
from psycopg import Connection, Cursor, sql

from projections.base import Projection
from projections.control import parked_positions
from projections.engine import CONTROL_CHANNEL, PROGRESS_CHANNEL, log_head
from projections.rebuild_partitions import create_shadow, move_partitions, partition_key, set_logged
from projections.rebuild_replay import Prefetcher, Replayer, read_log

Progress = Callable[[int, int], None]
DEFAULT_BATCH = 10_000


@dataclass(frozen=True)
class RebuildReport:
    name: str
    events: int  # log rows replayed (the whole log, whichever the projection handles)
    position: int
    seconds: float  # wall time of the whole rebuild (shared by the projections of one pass)
    apply_seconds: float = 0.0  # time spent in this projection's handlers
    batch_ms: tuple[float, ...] = field(default=(), repr=False)  # each replay batch's wall time

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")


def shadow_schema(name: str) -> str:
    return f"rebuild_{name}"


def check_rebuildable(projections: Sequence[Projection]) -> None:
    policies = [p.name for p in projections if getattr(p, "is_policy", False)]
    if policies:
        raise ValueError(f"policies are not rebuilt (their effects happened): {policies}")


# Shadow tables ----------------------------------------------------------------------------


def _create_shadow_tables(conn: Connection, projection: Projection, schema: str) -> list[str]:
    """Create the shadow tables; return the DDL deferred until after the load."""
    ident = sql.Identifier(schema)
    deferred: list[str] = []
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(ident))
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(ident))
    for table in projection.tables:
        later = table in projection.append_only
        key = partition_key(conn, table)
        if key:  # partitioned (migrations/0016): the same partitions, unlogged
            create_shadow(conn, schema, table, key)
        else:
            conn.execute(
                sql.SQL(
                    "CREATE UNLOGGED TABLE {}.{} (LIKE public.{} INCLUDING DEFAULTS INCLUDING"
                    " CONSTRAINTS INCLUDING GENERATED INCLUDING IDENTITY)"
                ).format(ident, sql.Identifier(table), sql.Identifier(table))
            )
        # Primary keys and unique constraints, under their live names.
        constraints = conn.execute(
            "SELECT conname, pg_get_constraintdef(c.oid) FROM pg_constraint c"
            " JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace"
            " WHERE n.nspname = 'public' AND t.relname = %s AND c.contype IN ('p', 'u')",
            (table,),
        ).fetchall()
        for name, definition in constraints:
            statement = sql.SQL("ALTER TABLE {}.{} ADD CONSTRAINT {} {}").format(
                ident, sql.Identifier(table), sql.Identifier(name), sql.SQL(definition)
            )
            if later:
                deferred.append(statement.as_string(conn))
            else:
                conn.execute(statement)
        # Other indexes, under their live names.
        indexes = conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public'"
            " AND i.tablename = %s AND i.indexname NOT IN (SELECT conname FROM pg_constraint"
            " c JOIN pg_class t ON t.oid = c.conrelid WHERE t.relname = %s)",
            (table, table),
        ).fetchall()
        for index_name, definition in indexes:
            later = table in projection.append_only or index_name in projection.deferred_indexes
            rewritten = re.sub(
                r" ON (?:ONLY )?public\.(\S+) ",
                lambda m: f" ON {schema}.{m.group(1)} ",
                definition,
                count=1,
            )
            if later:
                deferred.append(rewritten)
            else:
                conn.execute(rewritten)
    for i, spec in enumerate(projection.scratch_indexes):
        conn.execute(f"CREATE INDEX {_scratch(projection, i)} ON {schema}.{spec}")
    return deferred


def _scratch(projection: Projection, i: int) -> str:
    return f"rebuild_scratch_{projection.name}_{i}"


def _swap(cur: Cursor, projection: Projection, position: int) -> None:
    name, schema = projection.name, sql.Identifier(shadow_schema(projection.name))
    for i in range(len(projection.scratch_indexes)):
        cur.execute(
            sql.SQL("DROP INDEX {}").format(
                sql.Identifier(shadow_schema(name), _scratch(projection, i))
            )
        )
    for table in projection.tables:
        t = sql.Identifier(table)
        cur.execute(sql.SQL("LOCK TABLE public.{} IN ACCESS EXCLUSIVE MODE").format(t))
        cur.execute(sql.SQL("DROP TABLE public.{}").format(t))
        cur.execute(sql.SQL("ALTER TABLE {}.{} SET SCHEMA public").format(schema, t))
        move_partitions(cur, shadow_schema(name), table)
    cur.execute(sql.SQL("DROP SCHEMA {}").format(schema))
    cur.execute(
        "INSERT INTO projection_tracking (name, position) VALUES (%s, %s)"
        " ON CONFLICT (name) DO UPDATE SET position = excluded.position,"
        " state = 'running', error = NULL, error_position = NULL, updated_at = now()",
        (name, position),
    )
    cur.execute("SELECT pg_notify(%s, %s)", (PROGRESS_CHANNEL, f"{name}:{position}"))
    cur.execute("SELECT pg_notify(%s, %s)", (CONTROL_CHANNEL, f"rebuilt:{name}"))


# Rebuild ----------------------------------------------------------------------------------


def rebuild(
    conninfo: str,
    projection: Projection,
    mapper: Mapper,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> RebuildReport:
    return rebuild_many(conninfo, [projection], mapper, batch_size=batch_size, progress=progress)[0]


@dataclass
class Replayed:
    """What the bulk phase did for a group of projections (shadow tables, loaded, indexed)."""

    position: int
    consumed: int
    batch_ms: list[float]
    apply_seconds: dict[str, float]


def bulk_replay(
    conninfo: str,
    projections: Sequence[Projection],
    mapper: Mapper,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> Replayed:
    """Steps 1-2 for these projections: shadow tables, the whole log replayed into them in
    one pass, then made logged and indexed. Takes no lock on the live side."""
    projections = sorted(projections, key=lambda p: p.name)
    names = [p.name for p in projections]
    consumed, position = 0, 0
    batch_ms: list[float] = []
    with psycopg.connect(conninfo, autocommit=False) as conn:
        with conn.cursor() as cur:
            replayer = Replayer(projections, mapper, parked_positions(cur, names))
        conn.execute("SET synchronous_commit = off")
        with conn.transaction():
            deferred = [
                ddl
                for p in projections
                for ddl in _create_shadow_tables(conn, p, shadow_schema(p.name))
            ]
        _search_shadows(conn, names)
        conn.commit()
        with conn.cursor() as cur:
            head = log_head(cur)
            conn.commit()
            reader = Prefetcher(conninfo, replayer, position, batch_size)
            try:
                batch_started = time.perf_counter()
                with collection_per_batch() as collect:
                    for rows, decoded in reader:
                        with conn.transaction():
                            replayer.apply_decoded(cur, decoded)
                        collect()
                        now = time.perf_counter()
                        batch_ms.append((now - batch_started) * 1000)
                        batch_started = now
                        position = rows[-1][0]
                        consumed += len(rows)
                        if progress:
                            progress(position, max(head, position))
            finally:
                reader.close()
            with conn.transaction():  # logged from here on, then indexed
                for p in projections:
                    for table in p.tables:
                        set_logged(cur, shadow_schema(p.name), table)
                for ddl in deferred:
                    cur.execute(ddl)
    spent = dict(zip(names, replayer.apply_seconds, strict=True))
    return Replayed(position, consumed, batch_ms, spent)


@contextmanager
def collection_per_batch() -> Iterator[Callable[[], None]]:
    """Cyclic garbage collected once per replayed batch (call what this yields after each)
    instead of whenever allocations pile up. A replay allocates millions of short-lived
    objects (decoded events, rows), and the collector's own schedule ran several collections
    per batch, each walking everything alive, the next batch being decoded included: about a
    quarter of a rebuild's CPU. Reference counting frees nearly all of it; what survives a
    batch is collected after it (the young generations only: what outlives batches moves on
    and is not walked again), so memory stays flat."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield lambda: gc.collect(1)
    finally:
        if enabled:
            gc.enable()


def _search_shadows(conn: Connection, names: Sequence[str]) -> None:
    path = sql.SQL(", ").join(sql.Identifier(shadow_schema(n)) for n in names)
    conn.execute(sql.SQL("SET search_path TO {}, public").format(path))


def catch_up_and_swap(
    conninfo: str,
    groups: Sequence[tuple[Sequence[Projection], int]],
    mapper: Mapper,
    *,
    batch_size: int = DEFAULT_BATCH,
) -> tuple[dict[str, int], int]:
    """Step 3 for groups of (projections, position their shadow tables reached): in one
    transaction, lock every tracking row (live runners wait), apply to each group what
    arrived after its position, swap every projection in. Returns each projection's final
    position and the rows replayed."""
    everyone = sorted((p for group, _ in groups for p in group), key=lambda p: p.name)
    names = [p.name for p in everyone]
    finals: dict[str, int] = {}
    consumed = 0
    with psycopg.connect(conninfo, autocommit=False) as conn:
        _search_shadows(conn, names)
        conn.commit()
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(
                "SELECT position FROM projection_tracking WHERE name = ANY(%s)"
                " ORDER BY name FOR UPDATE",
                (names,),
            )
            parked = parked_positions(cur, names)  # as of now: parking waits for our locks
            for group, position in groups:
                replayer = Replayer(sorted(group, key=lambda p: p.name), mapper, parked)
                while rows := read_log(cur, position, batch_size):
                    replayer.apply(cur, rows)
                    position = rows[-1][0]
                    consumed += len(rows)
                for projection in group:
                    finals[projection.name] = position
            for projection in everyone:
                _swap(cur, projection, finals[projection.name])
    return finals, consumed


def rebuild_many(
    conninfo: str,
    projections: Sequence[Projection],
    mapper: Mapper,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> list[RebuildReport]:
    """Rebuild these projections in one pass over the log and swap them in together."""
    check_rebuildable(projections)
    started = time.perf_counter()
    done = bulk_replay(conninfo, projections, mapper, batch_size=batch_size, progress=progress)
    finals, caught_up = catch_up_and_swap(
        conninfo, [(projections, done.position)], mapper, batch_size=batch_size
    )
    if progress:
        final = max(finals.values(), default=0)
        progress(final, final)
    seconds = time.perf_counter() - started
    return [
        RebuildReport(
            p.name,
            done.consumed + caught_up,
            finals[p.name],
            seconds,
            done.apply_seconds[p.name],
            tuple(done.batch_ms),
        )
        for p in projections
    ]
