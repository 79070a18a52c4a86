-- 0014_analytics.sql
-- Indexes for the analytics endpoints (set-based SQL over the read tables): time entries by
-- workspace or project within a range of start times, a project's cards, milestones by
-- workspace and due date, completions by time.

CREATE INDEX IF NOT EXISTS idx_time_entries_workspace_start ON time_entries(workspace_id, start_time);
CREATE INDEX IF NOT EXISTS idx_time_entries_project_start ON time_entries(project_id, start_time);
CREATE INDEX IF NOT EXISTS idx_kanban_cards_project ON kanban_cards(project_id);
CREATE INDEX IF NOT EXISTS idx_milestones_workspace_due ON milestones(workspace_id, due_date);
CREATE INDEX IF NOT EXISTS idx_milestones_workspace_completed ON milestones(workspace_id, completed_at)
    WHERE completed_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_tasks_workspace_status ON tasks(workspace_id, status);
