-- 0010_resources.sql
-- Resource allocation: what the spec's team_members, resource_allocations, resource_conflicts
-- and utilization_metrics need beyond 0001, and the state of the `resources_workload` policy.

-- The skills an allocation needs (the optimizer moves its hours only to members having them).
ALTER TABLE resource_allocations
    ADD COLUMN required_skills TEXT[] NOT NULL DEFAULT '{}';
CREATE INDEX idx_resource_allocations_workspace ON resource_allocations(workspace_id, start_date, id);
CREATE INDEX idx_resource_allocations_user_dates ON resource_allocations(user_id, start_date, end_date);

-- The largest excess in hours, and when the conflict last changed.
ALTER TABLE resource_conflicts
    ADD COLUMN over_hours DECIMAL(8,2) NOT NULL DEFAULT 0,
    ADD COLUMN updated_at TIMESTAMPTZ;
CREATE INDEX idx_resource_conflicts_workspace ON resource_conflicts(workspace_id, detected_at, id);

CREATE INDEX idx_utilization_metrics_workspace ON utilization_metrics(workspace_id, period_start);

-- The `resources_workload` policy's own state, written in the transaction of its position
-- (never rebuilt, like the policy): each member's capacity and allocations, the conflicts it
-- last found and the utilization it last recorded; the tracked seconds of each stopped time
-- entry per week; each workspace's time zone.
CREATE TABLE resource_workloads (
    workspace_id UUID NOT NULL,
    user_id UUID NOT NULL,
    member JSONB,                                  -- capacity, availability, is_active; NULL: not a team member
    allocations JSONB NOT NULL DEFAULT '{}',       -- id -> [hours, start, end, project]
    actual JSONB NOT NULL DEFAULT '{}',            -- monday -> tracked seconds
    found JSONB NOT NULL DEFAULT '{}',             -- conflict id -> signature
    weeks JSONB NOT NULL DEFAULT '{}',             -- monday -> [capacity, allocated, actual]
    PRIMARY KEY (workspace_id, user_id)
);

CREATE TABLE resource_tracked (
    entry_id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL,
    user_id UUID NOT NULL,
    project_id UUID NOT NULL,
    segments JSONB NOT NULL,                       -- [[start, end], ...] UTC ISO
    weeks JSONB NOT NULL                           -- monday -> seconds, in the workspace's zone
);
CREATE INDEX idx_resource_tracked_workspace ON resource_tracked(workspace_id, project_id);

CREATE TABLE resource_zones (
    workspace_id UUID PRIMARY KEY,
    zone TEXT NOT NULL
);

-- The policy reacts to what happens from now on (the resources context is new: there is no
-- allocation in the log before it).
INSERT INTO projection_tracking (name, position)
SELECT 'resources_workload', coalesce(max(notification_id), 0) FROM worksync_events
ON CONFLICT (name) DO NOTHING;
