-- 0019_imports.sql
-- Imports (application/imports.py). Cards get an archived state (Card.Updated with
-- ``is_archived``; a Trello export carries archived cards, and the board read shows it).
-- `workspace_imports` is one row per import requested over HTTP, written by the import job
-- (not a projection: an operational record like workspace_exports, kept by a backup): the
-- validated document waits in `payload` until the job has run, then only the counts and the
-- report stay. What an import made is in the log (deterministic ids, see application/imports.py).
ALTER TABLE kanban_cards ADD COLUMN is_archived BOOLEAN NOT NULL DEFAULT false;

CREATE TABLE workspace_imports (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL,
    requested_by UUID NOT NULL,
    source VARCHAR(20) NOT NULL CHECK (source IN ('trello', 'worksync')),
    status VARCHAR(20) NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'done', 'failed')),
    filename TEXT,
    payload JSONB,                 -- the validated document, until the job has run
    project_id UUID,
    board_id UUID,
    counts JSONB NOT NULL DEFAULT '{}',
    report JSONB NOT NULL DEFAULT '{}',
    error TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ
);
CREATE INDEX idx_workspace_imports_workspace ON workspace_imports (workspace_id, created_at DESC, id DESC);
