-- 0020_card_positions_on_read.sql
-- A card's dense position (0, 1, 2... within its column, in (rank, id) order) is no longer
-- stored: keeping it meant renumbering the rest of two columns on every move (~50 row
-- versions for a 50-card column). The queries count or number the cards where they read
-- them (projections/kanban_queries.py) over an index that holds the whole order.
ALTER TABLE kanban_cards DROP COLUMN position;
DROP INDEX IF EXISTS idx_kanban_cards_column_rank;
CREATE INDEX idx_kanban_cards_column_rank ON kanban_cards(column_id, rank, id);
-- (column_id) alone is a prefix of the index above.
DROP INDEX IF EXISTS idx_kanban_cards_column;
