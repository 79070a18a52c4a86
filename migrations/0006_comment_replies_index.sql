-- Replies are found by their parent: deleting a card, a task or a comment removes its whole
-- thread (a recursive query over parent_comment_id), which without this index scans every
-- comment.
CREATE INDEX IF NOT EXISTS idx_comments_parent ON comments(parent_comment_id);
