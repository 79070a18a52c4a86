#!/bin/sh
# The read replica (compose.yaml `postgres-replica`): on first start, copy the primary with
# pg_basebackup (-R writes primary_conninfo and standby.signal, -C -S a replication slot so
# the primary keeps the WAL the replica has not received), then run as a hot standby.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready -h postgres -p 5432 -U "$POSTGRES_USER"; do sleep 1; done
    rm -rf "$PGDATA"/*
    PGPASSWORD="$REPLICATION_PASSWORD" pg_basebackup -h postgres -p 5432 -U replicator \
        -D "$PGDATA" -R -X stream -C -S replica1 --checkpoint=fast
    chmod 700 "$PGDATA"
fi
exec postgres -c hot_standby=on -c hot_standby_feedback=on
