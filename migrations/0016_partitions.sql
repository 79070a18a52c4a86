-- 0016_partitions.sql
-- Tables that grow without bound (activities, card_activities, notifications) become monthly
-- range partitions on created_at (UTC months), so retention drops a month's partition instead
-- of deleting rows. A DEFAULT partition takes any row no monthly partition covers, so an
-- insert is never refused; `worksync_ensure_partition` creates a month's partition (moving
-- the rows the DEFAULT partition holds for that month into it), called here for the months
-- that have rows plus the current and next ones, and ahead of time by the scheduled
-- `ensure_partitions` job (interfaces/jobs/retention.py).
-- A partitioned table's primary key must include the partition key: (id, created_at). Ids
-- stay unique (they are derived from events); the only upsert (notifications, ON CONFLICT DO
-- NOTHING) names (id, created_at), which a replay repeats exactly (created_at is the event's).
-- Rebuilds keep the layout: projections/rebuild.py makes partitioned shadow tables with the
-- same partitions (projections/rebuild_partitions.py).

CREATE OR REPLACE FUNCTION worksync_partition_name(parent TEXT, month DATE) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT parent || '_p' || to_char(month, 'YYYY_MM')
$$;

-- Create the partition of `parent` for the UTC month containing `month` unless it exists;
-- rows of that month waiting in the DEFAULT partition move into it. Returns true when created.
CREATE OR REPLACE FUNCTION worksync_ensure_partition(parent TEXT, month DATE) RETURNS BOOLEAN
LANGUAGE plpgsql AS $$
DECLARE
    first DATE := date_trunc('month', month)::date;
    part TEXT := worksync_partition_name(parent, date_trunc('month', month)::date);
    low TIMESTAMPTZ := first::timestamp AT TIME ZONE 'UTC';
    high TIMESTAMPTZ := (first + INTERVAL '1 month')::timestamp AT TIME ZONE 'UTC';
    schema TEXT := current_schema();
BEGIN
    IF to_regclass(format('%I.%I', schema, part)) IS NOT NULL THEN
        RETURN false;
    END IF;
    -- The same lock an ATTACH would take on the default partition's rows: writers wait.
    EXECUTE format('LOCK TABLE %I.%I IN SHARE ROW EXCLUSIVE MODE', schema, parent);
    IF to_regclass(format('%I.%I', schema, part)) IS NOT NULL THEN
        RETURN false;  -- made meanwhile (another run, or a rebuild's swap)
    END IF;
    EXECUTE format('CREATE TABLE %I.%I (LIKE %I.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   schema, part, schema, parent);
    EXECUTE format(
        'WITH moved AS (DELETE FROM %I.%I WHERE created_at >= %L AND created_at < %L'
        ' RETURNING *) INSERT INTO %I.%I SELECT * FROM moved',
        schema, parent || '_default', low, high, schema, part);
    EXECUTE format('ALTER TABLE %I.%I ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                   schema, parent, schema, part, low, high);
    RETURN true;
END;
$$;

-- Turn a plain table into a partitioned one with the same columns, defaults, key (plus
-- created_at) and index names, its rows kept.
CREATE OR REPLACE FUNCTION worksync_partition_table(parent TEXT) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    old TEXT := parent || '_unpartitioned';
    idx RECORD;
    m DATE;
BEGIN
    EXECUTE format('ALTER TABLE %I RENAME TO %I', parent, old);
    EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I', old, parent || '_pkey',
                   old || '_pkey');
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS,'
                   ' PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at)', parent, old);
    EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', parent || '_default', parent);
    FOR idx IN
        SELECT indexname, indexdef FROM pg_indexes
        WHERE schemaname = current_schema() AND tablename = old AND indexname <> old || '_pkey'
    LOOP
        EXECUTE format('DROP INDEX %I', idx.indexname);
        EXECUTE replace(idx.indexdef, format(' ON %s.%s ', current_schema(), old),
                        format(' ON %s.%s ', current_schema(), parent));
    END LOOP;
    FOR m IN EXECUTE format(
        'SELECT DISTINCT date_trunc(''month'', created_at AT TIME ZONE ''UTC'')::date FROM %I', old)
    LOOP
        PERFORM worksync_ensure_partition(parent, m);
    END LOOP;
    PERFORM worksync_ensure_partition(parent, (now() AT TIME ZONE 'UTC')::date);
    PERFORM worksync_ensure_partition(parent,
                                      ((now() AT TIME ZONE 'UTC') + INTERVAL '1 month')::date);
    EXECUTE format('INSERT INTO %I SELECT * FROM %I', parent, old);
    EXECUTE format('DROP TABLE %I', old);
END;
$$;

SELECT worksync_partition_table('activities');
SELECT worksync_partition_table('card_activities');
SELECT worksync_partition_table('notifications');
DROP FUNCTION worksync_partition_table(TEXT);
