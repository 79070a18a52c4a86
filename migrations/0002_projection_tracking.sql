-- Each projection's position in the event log, written in the same transaction as its rows.
CREATE TABLE projection_tracking (
    name TEXT PRIMARY KEY,
    position BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'paused', 'failed')),
    error TEXT,
    error_position BIGINT,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
