-- 0004_time_tracking.sql
-- Time tracking read model: what the spec's tables need to render timers with pauses.

-- An entry's task_id names a kanban card or a task (task_type says which); segments are the
-- spans it ran ([[start, end|null], ...], UTC ISO strings); duration is the sum of the closed
-- ones. A paused timer has is_running = false, is_paused = true and no end_time.
ALTER TABLE time_entries
    ADD COLUMN task_type VARCHAR(10),
    ADD COLUMN segments JSONB NOT NULL DEFAULT '[]',
    ADD COLUMN is_paused BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN auto_stop_after INTEGER,          -- seconds of running time; NULL: never
    ADD COLUMN note TEXT;                        -- e.g. why the timer was stopped automatically

CREATE INDEX idx_time_entries_user_start ON time_entries(user_id, start_time);
CREATE INDEX idx_time_entries_task ON time_entries(task_id);

ALTER TABLE time_tracking_settings
    ADD COLUMN stop_running_on_start BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

-- actual_hours of cards and tasks: each owner projection keeps the seconds of every stopped
-- entry that counts for one of its rows, and sums them.
CREATE TABLE kanban_card_time (
    entry_id UUID PRIMARY KEY,
    target_id UUID NOT NULL,
    seconds INTEGER NOT NULL
);
CREATE INDEX idx_kanban_card_time_target ON kanban_card_time(target_id);

CREATE TABLE task_time (
    entry_id UUID PRIMARY KEY,
    target_id UUID NOT NULL,
    seconds INTEGER NOT NULL
);
CREATE INDEX idx_task_time_target ON task_time(target_id);

-- Hours tracked on one card or task can pass 999.99.
ALTER TABLE kanban_cards ALTER COLUMN actual_hours TYPE DECIMAL(10,2);
ALTER TABLE tasks ALTER COLUMN actual_hours TYPE DECIMAL(10,2);
