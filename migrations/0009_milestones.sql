-- 0009_milestones.sql
-- Milestones, deliverables and milestone templates: what the read model needs beyond the
-- spec's tables (created in 0001, with tasks.milestone_id and its index).

-- Whether linked tasks decide a milestone's progress ('tasks') or it is set by hand
-- ('manual'); when and how it was completed (forced: its dependencies were not).
ALTER TABLE milestones
    ADD COLUMN progress_source VARCHAR(10) NOT NULL DEFAULT 'manual',
    ADD COLUMN completed_at TIMESTAMPTZ,
    ADD COLUMN forced_completion BOOLEAN NOT NULL DEFAULT false;

-- A project's milestones are listed by due date (the cursor is (due_date, id)).
CREATE INDEX idx_milestones_project_due ON milestones(project_id, due_date, id);
CREATE INDEX idx_milestone_assignees_user ON milestone_assignees(user_id);

-- A template belongs to the workspace it was made in; public ones are seen by everyone.
ALTER TABLE milestone_templates ADD COLUMN workspace_id UUID;
CREATE INDEX idx_milestone_templates_workspace ON milestone_templates(workspace_id, created_at, id);
CREATE INDEX idx_milestone_templates_public ON milestone_templates(created_at, id) WHERE is_public;

-- Files attached to deliverables (written by the files context): the tenant key, and the
-- lookup by deliverable.
ALTER TABLE deliverable_files ADD COLUMN workspace_id UUID;
CREATE INDEX idx_deliverable_files_deliverable ON deliverable_files(deliverable_id);

-- The milestones policy reacts to what happens from now on, not to the history before it.
INSERT INTO projection_tracking (name, position)
SELECT 'milestone_progress', coalesce(max(notification_id), 0) FROM worksync_events
ON CONFLICT (name) DO NOTHING;
