"""The events table recorder: eventsourcing's PostgreSQL recorder, appending in ONE statement.

The library serializes appends with ``LOCK TABLE ... IN EXCLUSIVE MODE`` so notification ids
commit in order and a reader never skips one. It holds that lock across several client round
trips (lock, notify, insert, fetch ids, commit), so the lock's hold time includes the Python
thread's scheduling: under load, appenders queue on the lock. Here the lock, the NOTIFY and
the insert run inside one server-side function, executed as one autocommit statement: the
same ordering guarantee, with the lock held only for the server's own work and the commit.

Inside a hot aggregate's turn (``EventStore._turn``: a transaction holding the turn's advisory
lock on one of the pool's connections), the append runs on that connection and COMMITs with
it, in one round trip: the commit releases the turn as the events become visible.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.pq import TransactionStatus
from psycopg.sql import SQL, Identifier

APPEND_FUNCTION = "worksync_append_events"


class OrderedAppendRecorder(PostgresApplicationRecorder):
    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.turn = threading.local()  # .conn: the connection of this thread's turn, if any
        schema = Identifier(self.datastore.schema)
        self.pg_function_name_insert_events = APPEND_FUNCTION
        self.sql_invoke_pg_function_insert_events = SQL("SELECT * FROM {schema}.{fn}((%s))").format(
            schema=schema, fn=Identifier(APPEND_FUNCTION)
        )
        self.sql_create_statements[self.create_insert_function_statement_index] = SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{fn}(events {schema}.{event}[]) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ "
            "BEGIN "
            "SET LOCAL lock_timeout = '{lock_timeout}s'; "
            "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
            "NOTIFY {channel}; "
            "RETURN QUERY INSERT INTO {schema}.{table} AS t "
            "(originator_id, originator_version, topic, state) "
            "SELECT originator_id, originator_version, topic, state FROM unnest(events) "
            "RETURNING notification_id; "
            "END; $BODY$"
        ).format(
            schema=schema,
            fn=Identifier(APPEND_FUNCTION),
            event=Identifier(self.stored_event_type_name),
            lock_timeout=self.datastore.lock_timeout,
            table=Identifier(self.events_table_name),
            channel=Identifier(self.channel_name),
        )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        conn = getattr(self.turn, "conn", None)
        if (
            conn is None
            or not stored_events
            or conn.info.transaction_status != TransactionStatus.INTRANS
        ):
            return super().insert_events(stored_events, **kwargs)
        self.turn.conn = None  # one append per turn: the commit ends it
        events = [
            self.construct_pg_stored_event(
                originator_id=e.originator_id,
                originator_version=e.originator_version,
                topic=e.topic,
                state=e.state,
            )
            for e in stored_events
        ]
        try:
            with conn.pipeline():
                cur = conn.execute(
                    self.sql_invoke_pg_function_insert_events, (events,), prepare=True
                )
                conn.execute("COMMIT")
            return [r[self.pg_function_name_insert_events] for r in cur.fetchall()]
        except psycopg.IntegrityError as e:  # another writer's version: a clash, retried
            end_transaction(conn)
            raise IntegrityError(str(e)) from e
        except psycopg.OperationalError:
            # The connection failed with the turn (e.g. the database ended the session):
            # whether the COMMIT reached the server is unknown, as for an autocommit append.
            # End the transaction (or the connection) and append as without a turn, on a new
            # connection, retried: if it had committed, that append clashes on the versions.
            end_transaction(conn)
            return super().insert_events(stored_events, **kwargs)
        except BaseException:
            end_transaction(conn)  # any other failure: the transaction is aborted or open
            raise


def end_transaction(conn: psycopg.Connection[Any]) -> None:
    """ROLLBACK a turn's transaction that is still open (or aborted), releasing its lock. A
    connection that cannot roll back (its session ended, or it is stuck mid-pipeline) is
    closed: the server ends the session, and the transaction and the lock with it; the pool
    replaces it."""
    if conn.closed or conn.info.transaction_status == TransactionStatus.IDLE:
        return
    try:
        conn.execute("ROLLBACK")
    except psycopg.Error:
        conn.close()
