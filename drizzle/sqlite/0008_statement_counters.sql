-- Postgres keeps entity_counts per statement from here on (its 0008); SQLite's triggers stay per row.
SELECT 1;
