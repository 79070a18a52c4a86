-- 0018_webhooks.sql
-- Webhooks. `webhook_endpoints` is the webhooks projection (what the API lists; never the
-- secret). The webhooks policy keeps its own inputs in `webhook_targets` (written in the
-- transaction of its position, so it is exactly as the log was at each event it delivers)
-- and records a `webhook_deliveries` row per event and endpoint; the delivery job
-- (interfaces/jobs/webhooks.py) sends them, per endpoint in log order, and writes their
-- attempts, status and the endpoint's failure streak.
CREATE TABLE webhook_endpoints (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL,
    url TEXT NOT NULL,
    events JSONB NOT NULL,
    description TEXT,
    active BOOLEAN NOT NULL,
    disabled_reason TEXT,
    created_by UUID,
    version INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX idx_webhook_endpoints_workspace ON webhook_endpoints (workspace_id, created_at, id);

CREATE TABLE webhook_targets (
    endpoint_id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL,
    url TEXT NOT NULL,
    events TEXT[] NOT NULL,
    secret TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT false,
    failing_since TIMESTAMPTZ,        -- the first failed attempt since the last success
    last_success_at TIMESTAMPTZ,
    wake_at TIMESTAMPTZ               -- the delivery job's next wake-up already queued
);
CREATE INDEX idx_webhook_targets_workspace ON webhook_targets (workspace_id) WHERE active;

CREATE TABLE webhook_deliveries (
    id UUID PRIMARY KEY,
    endpoint_id UUID NOT NULL,
    workspace_id UUID NOT NULL,
    position BIGINT NOT NULL,         -- the log position of the event (or of the ping/redelivery)
    event TEXT NOT NULL,
    body JSONB NOT NULL,
    redelivery_of UUID,
    status VARCHAR(20) NOT NULL DEFAULT 'pending',  -- pending, succeeded, failed, cancelled
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    first_attempt_at TIMESTAMPTZ,
    last_attempt_at TIMESTAMPTZ,
    response_code INTEGER,
    latency_ms INTEGER,
    response_excerpt TEXT,
    error TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at TIMESTAMPTZ
);
CREATE INDEX idx_webhook_deliveries_pending ON webhook_deliveries (endpoint_id, position, created_at)
    WHERE status = 'pending';
CREATE INDEX idx_webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);

-- The webhooks policy delivers what happens from now on, not the history before it.
INSERT INTO projection_tracking (name, position)
SELECT 'webhooks_policy', coalesce(max(notification_id), 0) FROM worksync_events
ON CONFLICT (name) DO NOTHING;
