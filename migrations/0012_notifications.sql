-- 0012_notifications.sql
-- Notifications (the spec's table, from 0001) delivered to each user's inbox, and their
-- preferences. A row is listed when it is wanted in-app; `email` says it waits for the
-- e-mail digest; `position` is the log position of the event that delivered it.
ALTER TABLE notifications
    ADD COLUMN in_app BOOLEAN NOT NULL DEFAULT true,
    ADD COLUMN email BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN position BIGINT NOT NULL DEFAULT 0;

CREATE INDEX idx_notifications_user_time ON notifications (user_id, created_at DESC, id DESC)
    WHERE in_app;
CREATE INDEX idx_notifications_user_unread_time
    ON notifications (user_id, is_read, created_at DESC, id DESC) WHERE in_app;
CREATE INDEX idx_notifications_email_pending ON notifications (user_id, created_at)
    WHERE email AND NOT is_read;

CREATE TABLE notification_preferences (
    user_id UUID PRIMARY KEY,
    in_app JSONB NOT NULL,       -- notification type -> shown in the app
    email JSONB NOT NULL,        -- notification type -> sent by e-mail
    digest VARCHAR(20) NOT NULL, -- immediate, hourly, daily, off
    digest_until TIMESTAMPTZ,    -- the last digest covered notifications up to here
    version INTEGER NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX idx_notification_preferences_digest ON notification_preferences (digest);

-- The notifications policy reacts to what happens from now on, not to the history before it.
INSERT INTO projection_tracking (name, position)
SELECT 'notifications_policy', coalesce(max(notification_id), 0) FROM worksync_events
ON CONFLICT (name) DO NOTHING;
