-- Postgres counts tag matches through its GIN indexes (0003): the tag pairs of SQLite's 0007 are not needed.
SELECT 1;
