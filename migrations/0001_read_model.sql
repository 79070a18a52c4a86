-- 0001_read_model.sql
-- WorkSync read-model schema (PostgreSQL 15/16).
-- Derived from "Database Schema" in worksync-backend-requirements.md, adapted for
-- event-sourced projections:
--   * no foreign keys (integrity is enforced on the write side; projections are
--     rebuilt independently into shadow tables);
--   * ids come from events (no gen_random_uuid() defaults);
--   * timestamps come from events (no DEFAULT NOW(); TIMESTAMPTZ everywhere);
--   * `version` = aggregate version (optimistic concurrency);
--   * `workspace_id` = tenant key on every workspace-scoped table.
-- user_sessions and password_reset_tokens are plain security tables, written directly.
-- Applied once, inside a transaction, by the migration runner.

-- =============================================================================
-- Custom types (enums)
-- =============================================================================

CREATE TYPE user_role AS ENUM ('admin', 'member');
CREATE TYPE workspace_role AS ENUM ('owner', 'admin', 'member', 'viewer');
CREATE TYPE project_status AS ENUM ('planning', 'active', 'on_hold', 'completed', 'cancelled');
CREATE TYPE project_priority AS ENUM ('low', 'medium', 'high', 'critical');
CREATE TYPE card_priority AS ENUM ('low', 'medium', 'high', 'urgent');
CREATE TYPE milestone_status AS ENUM ('pending', 'in_progress', 'completed', 'cancelled');
CREATE TYPE milestone_priority AS ENUM ('low', 'medium', 'high', 'critical');
CREATE TYPE deliverable_type AS ENUM ('document', 'code', 'design', 'review', 'other');
CREATE TYPE deliverable_status AS ENUM ('pending', 'in_progress', 'completed', 'rejected');
CREATE TYPE task_status AS ENUM ('todo', 'in_progress', 'review', 'done', 'cancelled');
CREATE TYPE task_priority AS ENUM ('low', 'medium', 'high', 'urgent');
CREATE TYPE conflict_status AS ENUM ('active', 'resolved', 'ignored');

-- =============================================================================
-- 1. Users & authentication
-- =============================================================================

CREATE TABLE users (
    id UUID PRIMARY KEY,
    email VARCHAR(255) UNIQUE NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    avatar_url TEXT,
    role user_role DEFAULT 'member',
    is_active BOOLEAN DEFAULT true,
    email_verified BOOLEAN DEFAULT false,
    deleted_at TIMESTAMPTZ,
    version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Security table (not a projection): refresh-token sessions, token stored hashed.
CREATE TABLE user_sessions (
    id UUID PRIMARY KEY,
    user_id UUID,
    token_hash VARCHAR(128) UNIQUE NOT NULL,
    family_id UUID NOT NULL,
    replaced_by UUID,
    revoked_at TIMESTAMPTZ,
    user_agent TEXT,
    ip TEXT,
    last_used_at TIMESTAMPTZ,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Security table (not a projection): token stored hashed.
CREATE TABLE password_reset_tokens (
    id UUID PRIMARY KEY,
    user_id UUID,
    token_hash VARCHAR(128) UNIQUE NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used BOOLEAN DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- =============================================================================
-- 2. Workspaces & projects
-- =============================================================================

CREATE TABLE workspaces (
    id UUID PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    description TEXT,
    owner_id UUID,
    settings JSONB DEFAULT '{}',
    is_active BOOLEAN DEFAULT true,
    version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE workspace_members (
    id UUID PRIMARY KEY,
    workspace_id UUID,
    user_id UUID,
    role workspace_role DEFAULT 'member',
    joined_at TIMESTAMPTZ,
    UNIQUE (workspace_id, user_id)
);

CREATE TABLE projects (
    id UUID PRIMARY KEY,
    workspace_id UUID,
    name VARCHAR(255) NOT NULL,
    description TEXT,
    status project_status DEFAULT 'planning',
    priority project_priority DEFAULT 'medium',
    start_date DATE,
    end_date DATE,
    budget DECIMAL(12,2),
    owner_id UUID,
    settings JSONB DEFAULT '{}',
    version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE project_members (
    id UUID PRIMARY KEY,
    workspace_id UUID,
    project_id UUID,
    user_id UUID,
    role VARCHAR(100),
    joined_at TIMESTAMPTZ,
    UNIQUE (project_id, user_id)
);

-- =============================================================================
-- 3. Kanban board system
-- =============================================================================

CREATE TABLE kanban_boards (
    id UUID PRIMARY KEY,
    workspace_id UUID,
    project_id UUID,
    name VARCHAR(255) NOT NULL,
    description TEXT,
    settings JSONB DEFAULT '{}',
    version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE kanban_columns (
    id UUID PRIMARY KEY,
    workspace_id UUID,
    board_id UUID,
    name VARCHAR(255) NOT NULL,
    position INTEGER NOT NULL,
    rank TEXT COLLATE "C" NOT NULL,    -- fractional ordering key
    color VARCHAR(7),                  -- hex color
    wip_limit INTEGER,
    is_done_column BOOLEAN DEFAULT false,
    version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE kanban_cards (
    id UUID PRIMARY KEY,
    workspace_id UUID,
    project_id UUID,
    board_id UUID NOT NULL,
    column_id UUID,
    title VARCHAR(255) NOT NULL,
    description TEXT,
    position INTEGER NOT NULL,
    rank TEXT COLLATE "C" NOT NULL,    -- fractional ordering key
    priority card_priority DEFAULT 'medium',
    due_date TIMESTAMPTZ,
    estimated_hours DECIMAL(5,2),
    actual_hours DECIMAL(5,2),
    assignee_id UUID,
    created_by UUID,
    labels JSONB DEFAULT '[]',
    attachments JSONB DEFAULT '[]',
    completed_at TIMESTAMPTZ,
    version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE card_comments (
    id UUID PRIMARY KEY,
    workspace_id UUID,
    card_id UUID,
    user_id UUID,
    content TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Card audit trail
CREATE TABLE card_activities (
    id UUID PRIMARY KEY,
    workspace_id UUID,
    card_id UUID,
    user_id UUID,
    action VARCHAR(100) NOT NULL,      -- 'created', 'moved', 'assigned', ...
    details JSONB DEFAULT '{}',
    position BIGINT NOT NULL,          -- global event-log position
    created_at TIMESTAMPTZ NOT NULL
);

-- =============================================================================
-- 4. Project templates
-- =============================================================================

CREATE TABLE project_templates (
    id UUID PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    description TEXT,
    category VARCHAR(100),
    tags TEXT[],
    is_public BOOLEAN DEFAULT false,
    created_by UUID,
    usage_count INTEGER DEFAULT 0,
    template_data JSONB NOT NULL,      -- phases, tasks, milestones
    version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE template_phases (
    id UUID PRIMARY KEY,
    template_id UUID,
    name VARCHAR(255) NOT NULL,
    description TEXT,
    position INTEGER NOT NULL,
    estimated_duration INTEGER,        -- days
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE template_tasks (
    id UUID PRIMARY KEY,
    phase_id UUID,
    title VARCHAR(255) NOT NULL,
    description TEXT,
    estimated_hours DECIMAL(5,2),
    dependencies JSONB DEFAULT '[]',
    required_skills TEXT[],
    position INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE template_usage (
    id UUID PRIMARY KEY,
    template_id UUID,
    user_id UUID,
    project_id UUID,
    used_at TIMESTAMPTZ
);

-- =============================================================================
-- 5. Time tracking
-- =============================================================================

CREATE TABLE time_entries (
    id UUID PRIMARY KEY,
    workspace_id UUID,
    user_id UUID,
    project_id UUID,
    task_id UUID,                      -- kanban card id
    description TEXT NOT NULL,
    start_time TIMESTAMPTZ NOT NULL,
    end_time TIMESTAMPTZ,
    duration INTEGER,                  -- seconds
    is_running BOOLEAN DEFAULT false,
    is_billable BOOLEAN DEFAULT true,
    hourly_rate DECIMAL(8,2),
    tags TEXT[],
    version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE time_tracking_settings (
    id UUID PRIMARY KEY,
    user_id UUID UNIQUE,
    default_hourly_rate DECIMAL(8,2),
    auto_stop_timer BOOLEAN DEFAULT true,
    auto_stop_duration INTEGER DEFAULT 3600,   -- seconds
    require_description BOOLEAN DEFAULT true,
    default_billable BOOLEAN DEFAULT true,
    timezone VARCHAR(50) DEFAULT 'UTC',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE active_timers (
    id UUID PRIMARY KEY,
    user_id UUID UNIQUE,
    time_entry_id UUID,
    started_at TIMESTAMPTZ,
    last_ping TIMESTAMPTZ
);

-- =============================================================================
-- 6. Milestone management
-- =============================================================================

CREATE TABLE milestones (
    id UUID PRIMARY KEY,
    workspace_id UUID,
    project_id UUID,
    title VARCHAR(255) NOT NULL,
    description TEXT,
    due_date DATE NOT NULL,
    status milestone_status DEFAULT 'pending',
    priority milestone_priority DEFAULT 'medium',
    progress INTEGER DEFAULT 0 CHECK (progress >= 0 AND progress <= 100),
    dependencies JSONB DEFAULT '[]',   -- array of milestone ids
    created_by UUID,
    version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE milestone_assignees (
    id UUID PRIMARY KEY,
    workspace_id UUID,
    milestone_id UUID,
    user_id UUID,
    assigned_at TIMESTAMPTZ,
    UNIQUE (milestone_id, user_id)
);

CREATE TABLE deliverables (
    id UUID PRIMARY KEY,
    workspace_id UUID,
    milestone_id UUID,
    title VARCHAR(255) NOT NULL,
    description TEXT,
    type deliverable_type DEFAULT 'document',
    status deliverable_status DEFAULT 'pending',
    due_date DATE,
    created_by UUID,
    version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE deliverable_files (
    id UUID PRIMARY KEY,
    deliverable_id UUID,
    name VARCHAR(255) NOT NULL,
    file_path TEXT NOT NULL,
    file_size BIGINT,
    mime_type VARCHAR(100),
    uploaded_by UUID,
    uploaded_at TIMESTAMPTZ
);

CREATE TABLE milestone_templates (
    id UUID PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    description TEXT,
    category VARCHAR(100),
    milestones_data JSONB NOT NULL,
    deliverables_data JSONB DEFAULT '[]',
    created_by UUID,
    is_public BOOLEAN DEFAULT false,
    usage_count INTEGER DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- =============================================================================
-- 7. Resource allocation
-- =============================================================================

CREATE TABLE team_members (
    id UUID PRIMARY KEY,
    user_id UUID,
    workspace_id UUID,
    role VARCHAR(100),
    skills TEXT[],
    capacity INTEGER DEFAULT 40,       -- hours per week
    hourly_rate DECIMAL(8,2),
    availability JSONB DEFAULT '{}',   -- availability schedule
    is_active BOOLEAN DEFAULT true,
    version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (user_id, workspace_id)
);

CREATE TABLE resource_allocations (
    id UUID PRIMARY KEY,
    user_id UUID,
    project_id UUID,
    workspace_id UUID,
    role VARCHAR(100),
    hours_per_week DECIMAL(5,2) NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE NOT NULL,
    created_by UUID,
    version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE resource_conflicts (
    id UUID PRIMARY KEY,
    user_id UUID,
    workspace_id UUID,
    conflicting_allocations JSONB NOT NULL,    -- array of allocation ids
    overallocation_percentage DECIMAL(5,2) NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE NOT NULL,
    status conflict_status DEFAULT 'active',
    resolved_by UUID,
    resolved_at TIMESTAMPTZ,
    resolution_details JSONB,
    detected_at TIMESTAMPTZ,
    version INTEGER NOT NULL DEFAULT 0
);

-- Computed / cached data
CREATE TABLE utilization_metrics (
    id UUID PRIMARY KEY,
    user_id UUID,
    workspace_id UUID,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    total_capacity DECIMAL(8,2) NOT NULL,
    allocated_hours DECIMAL(8,2) NOT NULL,
    actual_hours DECIMAL(8,2) DEFAULT 0,
    utilization_percentage DECIMAL(5,2) NOT NULL,
    efficiency_score DECIMAL(5,2),
    computed_at TIMESTAMPTZ,
    UNIQUE (user_id, workspace_id, period_start, period_end)
);

-- =============================================================================
-- 8. Tasks & comments
-- =============================================================================

CREATE TABLE tasks (
    id UUID PRIMARY KEY,
    workspace_id UUID,
    project_id UUID,
    milestone_id UUID,
    parent_task_id UUID,
    title VARCHAR(255) NOT NULL,
    description TEXT,
    status task_status DEFAULT 'todo',
    priority task_priority DEFAULT 'medium',
    estimated_hours DECIMAL(5,2),
    actual_hours DECIMAL(5,2) DEFAULT 0,
    assignee_id UUID,
    created_by UUID,
    due_date TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    tags TEXT[],
    dependencies JSONB DEFAULT '[]',
    version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Unified (polymorphic) comments
CREATE TABLE comments (
    id UUID PRIMARY KEY,
    workspace_id UUID,
    commentable_type VARCHAR(50) NOT NULL,     -- 'task', 'project', 'milestone', ...
    commentable_id UUID NOT NULL,
    user_id UUID,
    content TEXT NOT NULL,
    parent_comment_id UUID,
    is_edited BOOLEAN DEFAULT false,
    edited_at TIMESTAMPTZ,
    version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE comment_reactions (
    id UUID PRIMARY KEY,
    workspace_id UUID,
    comment_id UUID,
    user_id UUID,
    reaction VARCHAR(20) NOT NULL,     -- 'like', 'love', 'laugh', ...
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (comment_id, user_id, reaction)
);

-- =============================================================================
-- 9. Files & attachments
-- =============================================================================

CREATE TABLE files (
    id UUID PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    original_name VARCHAR(255) NOT NULL,
    file_path TEXT NOT NULL,
    file_size BIGINT NOT NULL,
    mime_type VARCHAR(100) NOT NULL,
    checksum VARCHAR(64),              -- SHA-256 hex
    uploaded_by UUID,
    workspace_id UUID,
    is_public BOOLEAN DEFAULT false,
    version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL
);

-- Polymorphic attachments
CREATE TABLE attachments (
    id UUID PRIMARY KEY,
    workspace_id UUID,
    file_id UUID,
    attachable_type VARCHAR(50) NOT NULL,      -- 'task', 'comment', 'project', ...
    attachable_id UUID NOT NULL,
    attached_by UUID,
    attached_at TIMESTAMPTZ
);

-- =============================================================================
-- 10. Notifications & activities
-- =============================================================================

CREATE TABLE notifications (
    id UUID PRIMARY KEY,
    workspace_id UUID,
    user_id UUID,
    type VARCHAR(100) NOT NULL,
    title VARCHAR(255) NOT NULL,
    message TEXT,
    data JSONB DEFAULT '{}',
    is_read BOOLEAN DEFAULT false,
    read_at TIMESTAMPTZ,
    version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL
);

-- Activity feed
CREATE TABLE activities (
    id UUID PRIMARY KEY,
    workspace_id UUID,
    project_id UUID,
    user_id UUID,
    action VARCHAR(100) NOT NULL,
    object_type VARCHAR(50) NOT NULL,
    object_id UUID NOT NULL,
    details JSONB DEFAULT '{}',
    position BIGINT NOT NULL,          -- global event-log position
    created_at TIMESTAMPTZ NOT NULL
);

-- =============================================================================
-- Indexes
-- =============================================================================

-- Auth / security tables
CREATE INDEX idx_user_sessions_user ON user_sessions(user_id);
CREATE INDEX idx_user_sessions_family ON user_sessions(family_id);

-- Core
CREATE INDEX idx_users_email ON users(email);
CREATE INDEX idx_workspace_members_workspace ON workspace_members(workspace_id);
CREATE INDEX idx_workspace_members_user ON workspace_members(user_id);
CREATE INDEX idx_projects_workspace ON projects(workspace_id);
CREATE INDEX idx_project_members_project ON project_members(project_id);
CREATE INDEX idx_project_members_user ON project_members(user_id);
CREATE INDEX idx_project_members_workspace ON project_members(workspace_id);

-- Kanban
CREATE INDEX idx_kanban_boards_project ON kanban_boards(project_id);
CREATE INDEX idx_kanban_boards_workspace ON kanban_boards(workspace_id);
CREATE INDEX idx_kanban_columns_board ON kanban_columns(board_id);
CREATE INDEX idx_kanban_columns_board_rank ON kanban_columns(board_id, rank);
CREATE INDEX idx_kanban_columns_workspace ON kanban_columns(workspace_id);
CREATE INDEX idx_kanban_cards_column ON kanban_cards(column_id);
CREATE INDEX idx_kanban_cards_column_rank ON kanban_cards(column_id, rank);
CREATE INDEX idx_kanban_cards_board ON kanban_cards(board_id);
CREATE INDEX idx_kanban_cards_assignee ON kanban_cards(assignee_id);
CREATE INDEX idx_kanban_cards_workspace ON kanban_cards(workspace_id);
CREATE INDEX idx_card_comments_card ON card_comments(card_id);
CREATE INDEX idx_card_comments_workspace ON card_comments(workspace_id);
CREATE INDEX idx_card_activities_card ON card_activities(card_id);
CREATE INDEX idx_card_activities_card_position ON card_activities(card_id, position);
CREATE INDEX idx_card_activities_workspace ON card_activities(workspace_id);

-- Time tracking
CREATE INDEX idx_time_entries_user ON time_entries(user_id);
CREATE INDEX idx_time_entries_project ON time_entries(project_id);
CREATE INDEX idx_time_entries_start_time ON time_entries(start_time);
CREATE INDEX idx_time_entries_workspace ON time_entries(workspace_id);
CREATE INDEX idx_active_timers_user ON active_timers(user_id);

-- Milestones
CREATE INDEX idx_milestones_project ON milestones(project_id);
CREATE INDEX idx_milestones_due_date ON milestones(due_date);
CREATE INDEX idx_milestones_workspace ON milestones(workspace_id);
CREATE INDEX idx_milestone_assignees_milestone ON milestone_assignees(milestone_id);
CREATE INDEX idx_milestone_assignees_workspace ON milestone_assignees(workspace_id);
CREATE INDEX idx_deliverables_milestone ON deliverables(milestone_id);
CREATE INDEX idx_deliverables_workspace ON deliverables(workspace_id);

-- Resource allocation
CREATE INDEX idx_team_members_workspace ON team_members(workspace_id);
CREATE INDEX idx_resource_allocations_user ON resource_allocations(user_id);
CREATE INDEX idx_resource_allocations_project ON resource_allocations(project_id);
CREATE INDEX idx_resource_conflicts_user ON resource_conflicts(user_id);
CREATE INDEX idx_utilization_metrics_user_period ON utilization_metrics(user_id, period_start, period_end);

-- Tasks
CREATE INDEX idx_tasks_project ON tasks(project_id);
CREATE INDEX idx_tasks_milestone ON tasks(milestone_id);
CREATE INDEX idx_tasks_assignee ON tasks(assignee_id);
CREATE INDEX idx_tasks_status ON tasks(status);
CREATE INDEX idx_tasks_workspace ON tasks(workspace_id);

-- Comments
CREATE INDEX idx_comments_commentable ON comments(commentable_type, commentable_id);
CREATE INDEX idx_comments_user ON comments(user_id);
CREATE INDEX idx_comments_workspace ON comments(workspace_id);
CREATE INDEX idx_comment_reactions_comment ON comment_reactions(comment_id);
CREATE INDEX idx_comment_reactions_workspace ON comment_reactions(workspace_id);

-- Files
CREATE INDEX idx_files_workspace ON files(workspace_id);
CREATE INDEX idx_attachments_attachable ON attachments(attachable_type, attachable_id);
CREATE INDEX idx_attachments_workspace ON attachments(workspace_id);

-- Notifications & activities
CREATE INDEX idx_notifications_user ON notifications(user_id);
CREATE INDEX idx_notifications_unread ON notifications(user_id, is_read);
CREATE INDEX idx_notifications_workspace ON notifications(workspace_id);
CREATE INDEX idx_activities_workspace ON activities(workspace_id);
CREATE INDEX idx_activities_workspace_position ON activities(workspace_id, position DESC);
CREATE INDEX idx_activities_project_position ON activities(project_id, position DESC);
CREATE INDEX idx_activities_object ON activities(object_type, object_id);
