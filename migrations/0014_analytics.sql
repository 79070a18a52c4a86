-- 0014_analytics.sql
-- Indexes for the analytics endpoints (set-based SQL over the read tables). The INCLUDE
-- columns are what the analytics queries read, so PostgreSQL can answer from the index alone
-- (an index-only scan) instead of visiting every wide row.

-- Time: a workspace's entries within a range of start times; a project's tracked time.
CREATE INDEX IF NOT EXISTS idx_time_entries_workspace_start ON time_entries(workspace_id, start_time);
CREATE INDEX IF NOT EXISTS idx_time_entries_project_start ON time_entries(project_id, start_time)
    INCLUDE (duration);
-- Tasks: counts by workspace and status (overdue: due_date); a project's tasks by status with
-- what throughput, cycle time and the burn-down read.
CREATE INDEX IF NOT EXISTS idx_tasks_workspace_status ON tasks(workspace_id, status)
    INCLUDE (due_date);
CREATE INDEX IF NOT EXISTS idx_tasks_project_status ON tasks(project_id, status)
    INCLUDE (created_at, completed_at, estimated_hours);
-- A project's cards; milestones by workspace and due date, and by completion.
CREATE INDEX IF NOT EXISTS idx_kanban_cards_project ON kanban_cards(project_id);
CREATE INDEX IF NOT EXISTS idx_milestones_workspace_due ON milestones(workspace_id, due_date);
CREATE INDEX IF NOT EXISTS idx_milestones_workspace_completed ON milestones(workspace_id, completed_at)
    WHERE completed_at IS NOT NULL;
