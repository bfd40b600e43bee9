-- entity_counts (0003) kept per statement instead of per row on inserts and deletes: one call of
-- the trigger function per statement, the counter rows of all its rows upserted at once (summed
-- per counter row). A create committed with others (src/db/postgres/group-commit.ts) inserts many
-- clients in one statement; per row, each of them called PL/pgSQL and upserted the same three
-- counter rows again. Updates keep the per-row trigger of 0003 (its column list and WHEN, which a
-- trigger with transition tables cannot have).
CREATE FUNCTION "entity_counts_add"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO entity_counts (kind, domain_id, status, level, bucket, stripe, n)
  SELECT TG_ARGV[0], r.domain_id, r.status, l.level, (CASE WHEN r.updated_at IS NULL THEN r.created_at ELSE r.updated_at END) >> l.shift, pg_backend_pid() % 16, count(*)
  FROM new_rows r CROSS JOIN (VALUES (1, 42), (2, 32), (3, 22)) AS l(level, shift)
  GROUP BY 2, 3, 4, 5
  ON CONFLICT ON CONSTRAINT entity_counts_pkey DO UPDATE SET n = entity_counts.n + EXCLUDED.n;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION "entity_counts_remove"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO entity_counts (kind, domain_id, status, level, bucket, stripe, n)
  SELECT TG_ARGV[0], r.domain_id, r.status, l.level, (CASE WHEN r.updated_at IS NULL THEN r.created_at ELSE r.updated_at END) >> l.shift, pg_backend_pid() % 16, -count(*)
  FROM old_rows r CROSS JOIN (VALUES (1, 42), (2, 32), (3, 22)) AS l(level, shift)
  GROUP BY 2, 3, 4, 5
  ON CONFLICT ON CONSTRAINT entity_counts_pkey DO UPDATE SET n = entity_counts.n + EXCLUDED.n;
  RETURN NULL;
END $$;
--> statement-breakpoint
DROP TRIGGER "clients_counts_insert_delete" ON "clients";
--> statement-breakpoint
CREATE TRIGGER "clients_counts_insert" AFTER INSERT ON "clients" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION entity_counts_add('client');
--> statement-breakpoint
CREATE TRIGGER "clients_counts_delete" AFTER DELETE ON "clients" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION entity_counts_remove('client');
--> statement-breakpoint
DROP TRIGGER "channels_counts_insert_delete" ON "channels";
--> statement-breakpoint
CREATE TRIGGER "channels_counts_insert" AFTER INSERT ON "channels" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION entity_counts_add('channel');
--> statement-breakpoint
CREATE TRIGGER "channels_counts_delete" AFTER DELETE ON "channels" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION entity_counts_remove('channel');
