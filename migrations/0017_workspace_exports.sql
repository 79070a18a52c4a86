-- 0017_workspace_exports.sql
-- Workspace exports for admins (application/exports.py): one row per request, written by
-- the export job (not a projection: an operational record like idempotency_keys, kept by a
-- backup). The file itself is in the files storage under workspaces/<id>/exports/<export id>.
CREATE TABLE workspace_exports (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL,
    requested_by UUID NOT NULL,
    format VARCHAR(10) NOT NULL CHECK (format IN ('json', 'csv')),
    status VARCHAR(20) NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'ready', 'failed')),
    storage_key TEXT,
    size BIGINT,
    checksum TEXT,                 -- SHA-256 of the file
    counts JSONB NOT NULL DEFAULT '{}',
    error TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    expires_at TIMESTAMPTZ
);
CREATE INDEX idx_workspace_exports_workspace ON workspace_exports (workspace_id, created_at DESC, id DESC);
CREATE INDEX idx_workspace_exports_expiry ON workspace_exports (expires_at) WHERE expires_at IS NOT NULL;
