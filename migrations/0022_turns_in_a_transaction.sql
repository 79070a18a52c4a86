-- 0022_turns_in_a_transaction.sql
-- A hot aggregate's turn held by a TRANSACTION advisory lock (0005 took a session lock). The
-- caller sends BEGIN and this call in one round trip, runs its command, then appends and
-- COMMITs in one more: the commit makes the events visible and releases the turn at the same
-- instant, so the turn no longer costs a third round trip (pg_advisory_unlock) and is not
-- held while that round trip travels. A failed command's ROLLBACK releases it too. Events are
-- read with a snapshot taken after the lock was granted (a VOLATILE function's statements
-- each take their own snapshot under READ COMMITTED).
CREATE OR REPLACE FUNCTION worksync_take_turn_in_transaction(
    lock_key BIGINT, aggregate_id UUID, after_version BIGINT, wait TEXT
) RETURNS TABLE (originator_version BIGINT, topic TEXT, state BYTEA)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM set_config('lock_timeout', wait, true);
    PERFORM pg_advisory_xact_lock(lock_key);
    RETURN QUERY
        SELECT e.originator_version, e.topic, e.state FROM worksync_events e
        WHERE e.originator_id = aggregate_id AND e.originator_version > after_version
        ORDER BY e.originator_version;
END;
$$;
