"""The events table recorder: eventsourcing's PostgreSQL recorder, appending in ONE statement.

The library serializes appends with ``LOCK TABLE ... IN EXCLUSIVE MODE`` so notification ids
commit in order and a reader never skips one. It holds that lock across several client round
trips (lock, notify, insert, fetch ids, commit), so the lock's hold time includes the Python
thread's scheduling: under load, appenders queue on the lock. Here the lock, the NOTIFY and
the insert run inside one server-side function, executed as one autocommit statement: the
same ordering guarantee, with the lock held only for the server's own work and the commit.
"""

from __future__ import annotations

from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.sql import SQL, Identifier

APPEND_FUNCTION = "worksync_append_events"


class OrderedAppendRecorder(PostgresApplicationRecorder):
    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
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
