-- Parked events: an operator's decision that a projection (or policy) passes over one event
-- of the log (`worksync projections skip NAME POSITION --reason ...`). The live engine and
-- every rebuild skip it for that projection only.
CREATE TABLE projection_parked (
    projection TEXT NOT NULL,
    position BIGINT NOT NULL,
    topic TEXT NOT NULL,
    reason TEXT NOT NULL,
    parked_by TEXT NOT NULL,
    parked_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, position)
);

-- Side effects decided by policies, written in the same transaction as the policy's
-- position, then delivered at least once by a dispatcher. `key` is the idempotency key the
-- receiver sees (e.g. a mail job delivers a key once).
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    policy TEXT NOT NULL,
    position BIGINT NOT NULL,
    payload JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    attempts INT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error TEXT,
    enqueued_at TIMESTAMPTZ,
    claimed_until TIMESTAMPTZ,
    delivered_at TIMESTAMPTZ
);
CREATE INDEX idx_outbox_due ON outbox (next_attempt_at, id) WHERE delivered_at IS NULL;

-- The mail policy reacts to what happens from now on, not to the history before it existed.
INSERT INTO projection_tracking (name, position)
SELECT 'mail', coalesce(max(notification_id), 0) FROM worksync_events
ON CONFLICT (name) DO NOTHING;
