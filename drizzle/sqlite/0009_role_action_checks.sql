-- Postgres checks <kind>_role_actions.role_id per statement from here on (its 0009); SQLite keeps the foreign key.
SELECT 1;
