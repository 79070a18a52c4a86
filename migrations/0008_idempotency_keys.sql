-- Idempotency-Key (IETF httpapi draft "The Idempotency-Key HTTP Header Field") for POST
-- creates: one row per (user, endpoint, key). While the first request runs, status is NULL
-- (a retry meanwhile is 409); then its answer is kept (status, headers, body) and replayed
-- to a retry with the same body until expires_at. Not part of the read model: projections
-- and rebuilds never touch it. Expired rows are deleted as keys are reserved.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    user_id UUID NOT NULL,
    endpoint TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER,
    headers JSONB,
    body BYTEA,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, endpoint, key)
);
CREATE INDEX IF NOT EXISTS idx_idempotency_keys_expiry ON idempotency_keys(expires_at);
