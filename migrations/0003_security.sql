-- Security state outside the event log.

-- Per-user data keys for crypto-shredding: personal fields of a user's events are encrypted
-- with the user's key; deleting the user destroys the key, so those fields become unreadable
-- while the log itself stays intact.
CREATE TABLE user_keys (
    user_id UUID PRIMARY KEY,
    key BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Security events: logins, failures, token reuse, password changes, deletions.
CREATE TABLE security_events (
    id BIGSERIAL PRIMARY KEY,
    user_id UUID,
    kind VARCHAR(50) NOT NULL,
    ip TEXT,
    user_agent TEXT,
    details JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_security_events_user ON security_events(user_id, created_at);
CREATE INDEX idx_user_sessions_user_live ON user_sessions(user_id) WHERE revoked_at IS NULL;
CREATE INDEX idx_password_reset_tokens_user ON password_reset_tokens(user_id);
