-- 0013_templates.sql
-- Project templates (the spec's tables, from 0001): what the read model needs beyond them.

-- A template belongs to the workspace it was made in (none for the built-in ones); public
-- ones are seen by everyone. Full-text search over a generated tsvector, weighted: name (A)
-- above tags (B) above description (C) above the task titles (D, kept by the projection).
CREATE FUNCTION worksync_tags_text(tags TEXT[]) RETURNS TEXT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce(array_to_string(tags, ' '), '') $$;

ALTER TABLE project_templates
    ADD COLUMN workspace_id UUID,
    ADD COLUMN task_titles TEXT NOT NULL DEFAULT '',
    ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(name, '')), 'A')
        || setweight(to_tsvector('english', worksync_tags_text(tags)), 'B')
        || setweight(to_tsvector('english', coalesce(description, '')), 'C')
        || setweight(to_tsvector('english', task_titles), 'D')
    ) STORED;

CREATE INDEX idx_project_templates_search ON project_templates USING GIN (search);
CREATE INDEX idx_project_templates_workspace ON project_templates (workspace_id, created_at, id);
CREATE INDEX idx_project_templates_public ON project_templates (created_at, id) WHERE is_public;
CREATE INDEX idx_project_templates_tags ON project_templates USING GIN (tags);

-- A task row names its template too (a template's rows are replaced together).
ALTER TABLE template_tasks ADD COLUMN template_id UUID;
CREATE INDEX idx_template_phases_template ON template_phases (template_id, position);
CREATE INDEX idx_template_tasks_template ON template_tasks (template_id, phase_id, position);

-- A use: the workspace of the project it made, and the tasks it created with the template's
-- estimated hours for each (analytics: estimate accuracy).
ALTER TABLE template_usage
    ADD COLUMN workspace_id UUID,
    ADD COLUMN task_hours JSONB NOT NULL DEFAULT '{}';
CREATE INDEX idx_template_usage_template ON template_usage (template_id, used_at);
CREATE INDEX idx_template_usage_project ON template_usage (project_id);

-- The template usage policy counts the uses from now on, not the history before it.
INSERT INTO projection_tracking (name, position)
SELECT 'template_usage', coalesce(max(notification_id), 0) FROM worksync_events
ON CONFLICT (name) DO NOTHING;
