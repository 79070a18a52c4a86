"""Rebuild a projection from the whole log into shadow tables, then swap them in atomically.

1. Create schema ``rebuild_<name>`` with an empty copy of each table the projection owns
   (same columns, constraints and index names).
2. Replay the log into it in large batches (one transaction per batch, search_path pointing
   at the shadow schema), reporting progress.
3. In one final transaction: lock the projection's tracking row (the live runner waits),
   apply what arrived meanwhile, replace the live tables by the shadow ones, and set the
   tracking position. Readers see either the old tables or the new ones, never a mix.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from eventsourcing.persistence import Mapper
from psycopg import Connection, sql

from projections.base import Projection
from projections.engine import CONTROL_CHANNEL, PROGRESS_CHANNEL, apply_rows, log_head, read_events

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RebuildReport:
    name: str
    events: int
    position: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")


def shadow_schema(name: str) -> str:
    return f"rebuild_{name}"


def _create_shadow_tables(conn: Connection, projection: Projection, schema: str) -> None:
    ident = sql.Identifier(schema)
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(ident))
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(ident))
    for table in projection.tables:
        conn.execute(
            sql.SQL(
                "CREATE TABLE {}.{} (LIKE public.{} INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
                " INCLUDING GENERATED INCLUDING IDENTITY)"
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
            conn.execute(
                sql.SQL("ALTER TABLE {}.{} ADD CONSTRAINT {} {}").format(
                    ident, sql.Identifier(table), sql.Identifier(name), sql.SQL(definition)
                )
            )
        # Other indexes, under their live names.
        indexes = conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public'"
            " AND i.tablename = %s AND i.indexname NOT IN (SELECT conname FROM pg_constraint"
            " c JOIN pg_class t ON t.oid = c.conrelid WHERE t.relname = %s)",
            (table, table),
        ).fetchall()
        for _name, definition in indexes:
            rewritten = re.sub(
                r" ON public\.(\S+) ", lambda m: f" ON {schema}.{m.group(1)} ", definition, count=1
            )
            conn.execute(rewritten)


def _set_search_path(conn: Connection, schema: str) -> None:
    conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))


def rebuild(
    conninfo: str,
    projection: Projection,
    mapper: Mapper,
    *,
    batch_size: int = 5000,
    progress: Progress | None = None,
) -> RebuildReport:
    name = projection.name
    schema = shadow_schema(name)
    started = time.perf_counter()
    consumed = 0
    with psycopg.connect(conninfo, autocommit=False) as conn:
        with conn.transaction():
            _create_shadow_tables(conn, projection, schema)
        _set_search_path(conn, schema)
        conn.commit()
        position = 0
        with conn.cursor() as cur:
            head = log_head(cur)
            conn.commit()
            while True:  # bulk replay, no locks on the live side
                with conn.transaction():
                    rows = read_events(cur, position, batch_size)
                    if not rows:
                        break
                    apply_rows(cur, projection, mapper, rows)
                position = rows[-1].position
                consumed += len(rows)
                if progress:
                    progress(position, max(head, position))
            with conn.transaction():  # catch up and swap, atomically
                cur.execute(
                    "SELECT position FROM projection_tracking WHERE name = %s FOR UPDATE", (name,)
                )
                while rows := read_events(cur, position, batch_size):
                    apply_rows(cur, projection, mapper, rows)
                    position = rows[-1].position
                    consumed += len(rows)
                for table in projection.tables:
                    t = sql.Identifier(table)
                    cur.execute(sql.SQL("LOCK TABLE public.{} IN ACCESS EXCLUSIVE MODE").format(t))
                    cur.execute(sql.SQL("DROP TABLE public.{}").format(t))
                    cur.execute(
                        sql.SQL("ALTER TABLE {}.{} SET SCHEMA public").format(
                            sql.Identifier(schema), t
                        )
                    )
                cur.execute(sql.SQL("DROP SCHEMA {}").format(sql.Identifier(schema)))
                cur.execute(
                    "INSERT INTO projection_tracking (name, position) VALUES (%s, %s)"
                    " ON CONFLICT (name) DO UPDATE SET position = excluded.position,"
                    " state = 'running', error = NULL, error_position = NULL, updated_at = now()",
                    (name, position),
                )
                cur.execute("SELECT pg_notify(%s, %s)", (PROGRESS_CHANNEL, f"{name}:{position}"))
                cur.execute("SELECT pg_notify(%s, %s)", (CONTROL_CHANNEL, f"rebuilt:{name}"))
            if progress:
                progress(position, position)
    return RebuildReport(name, consumed, position, time.perf_counter() - started)
