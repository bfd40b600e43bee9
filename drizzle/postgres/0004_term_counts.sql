-- Postgres counts tag and metadata matches through its GIN indexes (0003): nothing to add here.
SELECT 1;
