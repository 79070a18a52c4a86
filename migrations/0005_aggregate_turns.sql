-- A hot aggregate's turn (a board's moves from every API process): take the session advisory
-- lock named by lock_key, waiting at most `wait` (a lock_timeout value), then return the
-- aggregate's events after after_version, read with a snapshot taken AFTER the lock was
-- granted (a VOLATILE function's statements each take their own snapshot), so the caller's
-- cached copy is brought up to date in the same round trip. The caller runs its command,
-- appends, and then calls pg_advisory_unlock(lock_key).
CREATE OR REPLACE FUNCTION worksync_take_turn(
    lock_key BIGINT, aggregate_id UUID, after_version BIGINT, wait TEXT
) RETURNS TABLE (originator_version BIGINT, topic TEXT, state BYTEA)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM set_config('lock_timeout', wait, true);
    PERFORM pg_advisory_lock(lock_key);
    RETURN QUERY
        SELECT e.originator_version, e.topic, e.state FROM worksync_events e
        WHERE e.originator_id = aggregate_id AND e.originator_version > after_version
        ORDER BY e.originator_version;
END;
$$;
