-- 0023_sign_in_changes_announced.sql
-- Every API process keeps the sign-in checks it answered (projections/identity_queries.py,
-- SignIns) until a user or a login changes. A user's row changes only in the users
-- projection, which announces it (projections/identity.py); a login ends when its session
-- rows are revoked or deleted, which this trigger announces on the same channel, on commit,
-- whichever code path did it (logout, revoke all, refresh token reuse, deletion, retention).
CREATE OR REPLACE FUNCTION worksync_sessions_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('worksync_sign_ins', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER user_sessions_ended
    AFTER UPDATE OF revoked_at OR DELETE OR TRUNCATE ON user_sessions
    FOR EACH STATEMENT EXECUTE FUNCTION worksync_sessions_ended();
