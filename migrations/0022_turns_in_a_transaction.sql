-- 0022_turns_in_a_transaction.sql
-- A hot aggregate's turn held by a TRANSACTION advisory lock (0005 took a session lock). The
-- caller sends BEGIN and this call in one round trip, runs its command, then appends and
-- COMMITs in one more: the commit makes the events visible and releases the turn at the same
-- instant, so the turn no longer costs a third round trip (pg_advisory_unlock) and is not
-- held while that round trip travels. A failed command's ROLLBACK releases it too. It returns
-- the events of each given aggregate after the given version (the hot aggregate's, and those
-- of the aggregates the command only reads, e.g. the workspace of its access check), read
-- with a snapshot taken after the lock was granted (a VOLATILE function's statements each
-- take their own snapshot under READ COMMITTED).
CREATE OR REPLACE FUNCTION worksync_take_turn_in_transaction(
    lock_key BIGINT, aggregate_ids UUID[], after_versions BIGINT[], wait TEXT
) RETURNS TABLE (originator_id UUID, originator_version BIGINT, topic TEXT, state BYTEA)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('lock_timeout', wait, true);
    PERFORM pg_advisory_xact_lock(lock_key);
    RETURN QUERY
        SELECT e.originator_id, e.originator_version, e.topic, e.state
        FROM unnest(aggregate_ids, after_versions) AS a(id, after_version)
        JOIN worksync_events e
            ON e.originator_id = a.id AND e.originator_version > a.after_version
        ORDER BY e.originator_id, e.originator_version;
END;
$$;
