-- Indexes that make the filtered lists of contract §2 index scans (issue #17): trigram GIN for
-- the case-insensitive name substring, GIN for tags (?| / ?&) and metadata containment (@>).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
--> statement-breakpoint
CREATE INDEX "clients_name_trgm_idx" ON "clients" USING gin (lower("name") gin_trgm_ops);
--> statement-breakpoint
CREATE INDEX "clients_tags_gin_idx" ON "clients" USING gin ("tags");
--> statement-breakpoint
CREATE INDEX "clients_metadata_gin_idx" ON "clients" USING gin ("metadata" jsonb_path_ops);
--> statement-breakpoint
CREATE INDEX "channels_name_trgm_idx" ON "channels" USING gin (lower("name") gin_trgm_ops);
--> statement-breakpoint
CREATE INDEX "channels_tags_gin_idx" ON "channels" USING gin ("tags");
--> statement-breakpoint
CREATE INDEX "channels_metadata_gin_idx" ON "channels" USING gin ("metadata" jsonb_path_ops);
--> statement-breakpoint
-- entity_counts: entities per (kind, domain, status) in buckets of their list time (see the SQLite
-- migration), one row per writing connection (stripe) so that concurrent writes never wait for
-- each other on a counter; a count is the sum over stripes. Kept by triggers, in each write's
-- transaction; not in the Drizzle schema (derived: dumps leave it out, import rebuilds it).
CREATE TABLE "entity_counts" (
	"kind" text NOT NULL,
	"domain_id" text NOT NULL,
	"status" integer NOT NULL,
	"level" integer NOT NULL,
	"bucket" bigint NOT NULL,
	"stripe" integer NOT NULL,
	"n" bigint NOT NULL,
	PRIMARY KEY("kind", "domain_id", "status", "level", "bucket", "stripe")
);
--> statement-breakpoint
CREATE FUNCTION "entity_counts_track"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  own_stripe integer := pg_backend_pid() % 16;
  list_time bigint;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    list_time := CASE WHEN OLD.updated_at IS NULL THEN OLD.created_at ELSE OLD.updated_at END;
    INSERT INTO entity_counts (kind, domain_id, status, level, bucket, stripe, n)
    VALUES (TG_ARGV[0], OLD.domain_id, OLD.status, 1, list_time >> 42, own_stripe, -1), (TG_ARGV[0], OLD.domain_id, OLD.status, 2, list_time >> 32, own_stripe, -1), (TG_ARGV[0], OLD.domain_id, OLD.status, 3, list_time >> 22, own_stripe, -1)
    ON CONFLICT ON CONSTRAINT entity_counts_pkey DO UPDATE SET n = entity_counts.n + EXCLUDED.n;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    list_time := CASE WHEN NEW.updated_at IS NULL THEN NEW.created_at ELSE NEW.updated_at END;
    INSERT INTO entity_counts (kind, domain_id, status, level, bucket, stripe, n)
    VALUES (TG_ARGV[0], NEW.domain_id, NEW.status, 1, list_time >> 42, own_stripe, 1), (TG_ARGV[0], NEW.domain_id, NEW.status, 2, list_time >> 32, own_stripe, 1), (TG_ARGV[0], NEW.domain_id, NEW.status, 3, list_time >> 22, own_stripe, 1)
    ON CONFLICT ON CONSTRAINT entity_counts_pkey DO UPDATE SET n = entity_counts.n + EXCLUDED.n;
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "clients_counts_insert_delete" AFTER INSERT OR DELETE ON "clients" FOR EACH ROW EXECUTE FUNCTION entity_counts_track('client');
--> statement-breakpoint
CREATE TRIGGER "clients_counts_update" AFTER UPDATE OF status, updated_at, created_at ON "clients" FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status OR (CASE WHEN OLD.updated_at IS NULL THEN OLD.created_at ELSE OLD.updated_at END) IS DISTINCT FROM (CASE WHEN NEW.updated_at IS NULL THEN NEW.created_at ELSE NEW.updated_at END)) EXECUTE FUNCTION entity_counts_track('client');
--> statement-breakpoint
INSERT INTO entity_counts (kind, domain_id, status, level, bucket, stripe, n) SELECT 'client', domain_id, status, 1, (CASE WHEN clients.updated_at IS NULL THEN clients.created_at ELSE clients.updated_at END) >> 42, 0, count(*) FROM "clients" GROUP BY domain_id, status, (CASE WHEN clients.updated_at IS NULL THEN clients.created_at ELSE clients.updated_at END) >> 42;
--> statement-breakpoint
INSERT INTO entity_counts (kind, domain_id, status, level, bucket, stripe, n) SELECT 'client', domain_id, status, 2, (CASE WHEN clients.updated_at IS NULL THEN clients.created_at ELSE clients.updated_at END) >> 32, 0, count(*) FROM "clients" GROUP BY domain_id, status, (CASE WHEN clients.updated_at IS NULL THEN clients.created_at ELSE clients.updated_at END) >> 32;
--> statement-breakpoint
INSERT INTO entity_counts (kind, domain_id, status, level, bucket, stripe, n) SELECT 'client', domain_id, status, 3, (CASE WHEN clients.updated_at IS NULL THEN clients.created_at ELSE clients.updated_at END) >> 22, 0, count(*) FROM "clients" GROUP BY domain_id, status, (CASE WHEN clients.updated_at IS NULL THEN clients.created_at ELSE clients.updated_at END) >> 22;
--> statement-breakpoint
CREATE TRIGGER "channels_counts_insert_delete" AFTER INSERT OR DELETE ON "channels" FOR EACH ROW EXECUTE FUNCTION entity_counts_track('channel');
--> statement-breakpoint
CREATE TRIGGER "channels_counts_update" AFTER UPDATE OF status, updated_at, created_at ON "channels" FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status OR (CASE WHEN OLD.updated_at IS NULL THEN OLD.created_at ELSE OLD.updated_at END) IS DISTINCT FROM (CASE WHEN NEW.updated_at IS NULL THEN NEW.created_at ELSE NEW.updated_at END)) EXECUTE FUNCTION entity_counts_track('channel');
--> statement-breakpoint
INSERT INTO entity_counts (kind, domain_id, status, level, bucket, stripe, n) SELECT 'channel', domain_id, status, 1, (CASE WHEN channels.updated_at IS NULL THEN channels.created_at ELSE channels.updated_at END) >> 42, 0, count(*) FROM "channels" GROUP BY domain_id, status, (CASE WHEN channels.updated_at IS NULL THEN channels.created_at ELSE channels.updated_at END) >> 42;
--> statement-breakpoint
INSERT INTO entity_counts (kind, domain_id, status, level, bucket, stripe, n) SELECT 'channel', domain_id, status, 2, (CASE WHEN channels.updated_at IS NULL THEN channels.created_at ELSE channels.updated_at END) >> 32, 0, count(*) FROM "channels" GROUP BY domain_id, status, (CASE WHEN channels.updated_at IS NULL THEN channels.created_at ELSE channels.updated_at END) >> 32;
--> statement-breakpoint
INSERT INTO entity_counts (kind, domain_id, status, level, bucket, stripe, n) SELECT 'channel', domain_id, status, 3, (CASE WHEN channels.updated_at IS NULL THEN channels.created_at ELSE channels.updated_at END) >> 22, 0, count(*) FROM "channels" GROUP BY domain_id, status, (CASE WHEN channels.updated_at IS NULL THEN channels.created_at ELSE channels.updated_at END) >> 22;
