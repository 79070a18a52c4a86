-- Files and attachments (issue 17). The tables are the spec's (0001); an attachment also
-- records its project, so that a project's deletion removes the attachments of its cards,
-- tasks and comments.
ALTER TABLE attachments ADD COLUMN project_id UUID;
CREATE INDEX idx_attachments_file ON attachments(file_id);
CREATE INDEX idx_attachments_project ON attachments(project_id);
CREATE INDEX idx_files_uploaded_by ON files(uploaded_by);

-- The files_storage policy (stored bytes removed after File.Deleted / Workspace.Deleted,
-- files of an erased user deleted) reacts to what happens from now on.
INSERT INTO projection_tracking (name, position)
SELECT 'files_storage', coalesce(max(notification_id), 0) FROM worksync_events
ON CONFLICT (name) DO NOTHING;
