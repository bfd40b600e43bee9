-- Derived structures that make every list of contract §2 an index walk (issue #17). None of them
-- is in the Drizzle schema: they hold nothing a dump must carry (export leaves them out, import and
-- restore rebuild them through these triggers), and triggers keep them exact inside the very
-- transaction of each write, whoever writes (the service, import, a direct insert).
--
-- entity_counts: entities per (kind, domain, status) in buckets of their list time ("updated_at,
-- else created_at", µs) at three widths: 2^42 µs (~51 days), 2^32 µs (~72 min), 2^22 µs (~4 s). The
-- sum of level 1 is a list's total; descending the levels finds where a deep offset starts.
CREATE TABLE `entity_counts` (
	`kind` text NOT NULL,
	`domain_id` text NOT NULL,
	`status` integer NOT NULL,
	`level` integer NOT NULL,
	`bucket` integer NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY(`kind`, `domain_id`, `status`, `level`, `bucket`)
) WITHOUT ROWID;
--> statement-breakpoint
-- client_terms: one row per tag ('t' || tag) and per top-level metadata member ('m' || key || ':' ||
-- the value: quoted text, a number in one spelling whatever its JSON form, else its type), with the
-- entity's status and list time, so that a tag or metadata filter counts and pages inside this index.
CREATE TABLE `client_terms` (
	`domain_id` text NOT NULL,
	`term` text NOT NULL,
	`status` integer NOT NULL,
	`sort_at` integer NOT NULL,
	`entity_id` text NOT NULL,
	PRIMARY KEY(`domain_id`, `term`, `status`, `sort_at`, `entity_id`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `client_terms_entity_idx` ON `client_terms` (`entity_id`, `term`);
--> statement-breakpoint
-- clients_name_fts: trigram index of the names (case-folded), for the `name` substring filter.
CREATE VIRTUAL TABLE `clients_name_fts` USING fts5(name, content='clients', content_rowid='rowid', tokenize='trigram');
--> statement-breakpoint
CREATE TRIGGER `clients_derived_insert` AFTER INSERT ON `clients` BEGIN
  INSERT INTO entity_counts (kind, domain_id, status, level, bucket, n) VALUES ('client', new.domain_id, new.status, 1, (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END) >> 42, 1), ('client', new.domain_id, new.status, 2, (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END) >> 32, 1), ('client', new.domain_id, new.status, 3, (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END) >> 22, 1) ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT OR IGNORE INTO client_terms (domain_id, term, status, sort_at, entity_id)
    SELECT new.domain_id, 't' || value, new.status, (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END), new.id FROM json_each(new.tags) WHERE type = 'text' AND json_type(new.tags) = 'array'
    UNION ALL
    SELECT new.domain_id, 'm' || json_quote(key) || ':' || (CASE type WHEN 'text' THEN json_quote(atom) WHEN 'integer' THEN CAST(atom AS TEXT) WHEN 'real' THEN (CASE WHEN atom = CAST(atom AS INTEGER) THEN CAST(CAST(atom AS INTEGER) AS TEXT) ELSE printf('%!.17g', atom) END) ELSE type END), new.status, (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END), new.id FROM json_each(new.metadata) WHERE json_type(new.metadata) = 'object';
  INSERT INTO clients_name_fts (rowid, name) VALUES (new.rowid, new.name);
END;
--> statement-breakpoint
CREATE TRIGGER `clients_derived_delete` AFTER DELETE ON `clients` BEGIN
  INSERT INTO entity_counts (kind, domain_id, status, level, bucket, n) VALUES ('client', old.domain_id, old.status, 1, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 42, -1), ('client', old.domain_id, old.status, 2, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 32, -1), ('client', old.domain_id, old.status, 3, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 22, -1) ON CONFLICT DO UPDATE SET n = n + excluded.n;
  DELETE FROM entity_counts WHERE kind = 'client' AND domain_id = old.domain_id AND status = old.status AND (level, bucket) IN (VALUES (1, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 42), (2, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 32), (3, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 22)) AND n = 0;
  DELETE FROM client_terms WHERE entity_id = old.id;
  INSERT INTO clients_name_fts (clients_name_fts, rowid, name) VALUES ('delete', old.rowid, old.name);
END;
--> statement-breakpoint
CREATE TRIGGER `clients_derived_counts_update` AFTER UPDATE OF status, updated_at, created_at ON `clients`
WHEN old.status IS NOT new.status OR (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) IS NOT (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END) BEGIN
  INSERT INTO entity_counts (kind, domain_id, status, level, bucket, n) VALUES ('client', old.domain_id, old.status, 1, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 42, -1), ('client', old.domain_id, old.status, 2, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 32, -1), ('client', old.domain_id, old.status, 3, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 22, -1) ON CONFLICT DO UPDATE SET n = n + excluded.n;
  DELETE FROM entity_counts WHERE kind = 'client' AND domain_id = old.domain_id AND status = old.status AND (level, bucket) IN (VALUES (1, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 42), (2, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 32), (3, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 22)) AND n = 0;
  INSERT INTO entity_counts (kind, domain_id, status, level, bucket, n) VALUES ('client', new.domain_id, new.status, 1, (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END) >> 42, 1), ('client', new.domain_id, new.status, 2, (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END) >> 32, 1), ('client', new.domain_id, new.status, 3, (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END) >> 22, 1) ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
--> statement-breakpoint
CREATE TRIGGER `clients_derived_terms_update` AFTER UPDATE OF tags, metadata, status, updated_at, created_at ON `clients`
WHEN old.tags IS NOT new.tags OR old.metadata IS NOT new.metadata OR old.status IS NOT new.status OR (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) IS NOT (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END) BEGIN
  DELETE FROM client_terms WHERE entity_id = old.id;
  INSERT OR IGNORE INTO client_terms (domain_id, term, status, sort_at, entity_id)
    SELECT new.domain_id, 't' || value, new.status, (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END), new.id FROM json_each(new.tags) WHERE type = 'text' AND json_type(new.tags) = 'array'
    UNION ALL
    SELECT new.domain_id, 'm' || json_quote(key) || ':' || (CASE type WHEN 'text' THEN json_quote(atom) WHEN 'integer' THEN CAST(atom AS TEXT) WHEN 'real' THEN (CASE WHEN atom = CAST(atom AS INTEGER) THEN CAST(CAST(atom AS INTEGER) AS TEXT) ELSE printf('%!.17g', atom) END) ELSE type END), new.status, (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END), new.id FROM json_each(new.metadata) WHERE json_type(new.metadata) = 'object';
END;
--> statement-breakpoint
CREATE TRIGGER `clients_derived_name_update` AFTER UPDATE OF name ON `clients` WHEN old.name IS NOT new.name BEGIN
  INSERT INTO clients_name_fts (clients_name_fts, rowid, name) VALUES ('delete', old.rowid, old.name);
  INSERT INTO clients_name_fts (rowid, name) VALUES (new.rowid, new.name);
END;
--> statement-breakpoint
INSERT INTO entity_counts (kind, domain_id, status, level, bucket, n) SELECT 'client', domain_id, status, 1, (CASE WHEN clients.updated_at IS NULL THEN clients.created_at ELSE clients.updated_at END) >> 42, count(*) FROM `clients` GROUP BY domain_id, status, (CASE WHEN clients.updated_at IS NULL THEN clients.created_at ELSE clients.updated_at END) >> 42;
--> statement-breakpoint
INSERT INTO entity_counts (kind, domain_id, status, level, bucket, n) SELECT 'client', domain_id, status, 2, (CASE WHEN clients.updated_at IS NULL THEN clients.created_at ELSE clients.updated_at END) >> 32, count(*) FROM `clients` GROUP BY domain_id, status, (CASE WHEN clients.updated_at IS NULL THEN clients.created_at ELSE clients.updated_at END) >> 32;
--> statement-breakpoint
INSERT INTO entity_counts (kind, domain_id, status, level, bucket, n) SELECT 'client', domain_id, status, 3, (CASE WHEN clients.updated_at IS NULL THEN clients.created_at ELSE clients.updated_at END) >> 22, count(*) FROM `clients` GROUP BY domain_id, status, (CASE WHEN clients.updated_at IS NULL THEN clients.created_at ELSE clients.updated_at END) >> 22;
--> statement-breakpoint
INSERT OR IGNORE INTO client_terms (domain_id, term, status, sort_at, entity_id)
  SELECT e.domain_id, 't' || j.value, e.status, (CASE WHEN e.updated_at IS NULL THEN e.created_at ELSE e.updated_at END), e.id FROM `clients` e, json_each(e.tags) j WHERE j.type = 'text' AND json_type(e.tags) = 'array'
  UNION ALL
  SELECT e.domain_id, 'm' || json_quote(j.key) || ':' || (CASE j.type WHEN 'text' THEN json_quote(j.atom) WHEN 'integer' THEN CAST(j.atom AS TEXT) WHEN 'real' THEN (CASE WHEN j.atom = CAST(j.atom AS INTEGER) THEN CAST(CAST(j.atom AS INTEGER) AS TEXT) ELSE printf('%!.17g', j.atom) END) ELSE j.type END), e.status, (CASE WHEN e.updated_at IS NULL THEN e.created_at ELSE e.updated_at END), e.id FROM `clients` e, json_each(e.metadata) j WHERE json_type(e.metadata) = 'object';
--> statement-breakpoint
INSERT INTO clients_name_fts (clients_name_fts) VALUES ('rebuild');
--> statement-breakpoint
-- channel_terms: one row per tag ('t' || tag) and per top-level metadata member ('m' || key || ':' ||
-- the value: quoted text, a number in one spelling whatever its JSON form, else its type), with the
-- entity's status and list time, so that a tag or metadata filter counts and pages inside this index.
CREATE TABLE `channel_terms` (
	`domain_id` text NOT NULL,
	`term` text NOT NULL,
	`status` integer NOT NULL,
	`sort_at` integer NOT NULL,
	`entity_id` text NOT NULL,
	PRIMARY KEY(`domain_id`, `term`, `status`, `sort_at`, `entity_id`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `channel_terms_entity_idx` ON `channel_terms` (`entity_id`, `term`);
--> statement-breakpoint
-- channels_name_fts: trigram index of the names (case-folded), for the `name` substring filter.
CREATE VIRTUAL TABLE `channels_name_fts` USING fts5(name, content='channels', content_rowid='rowid', tokenize='trigram');
--> statement-breakpoint
CREATE TRIGGER `channels_derived_insert` AFTER INSERT ON `channels` BEGIN
  INSERT INTO entity_counts (kind, domain_id, status, level, bucket, n) VALUES ('channel', new.domain_id, new.status, 1, (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END) >> 42, 1), ('channel', new.domain_id, new.status, 2, (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END) >> 32, 1), ('channel', new.domain_id, new.status, 3, (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END) >> 22, 1) ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT OR IGNORE INTO channel_terms (domain_id, term, status, sort_at, entity_id)
    SELECT new.domain_id, 't' || value, new.status, (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END), new.id FROM json_each(new.tags) WHERE type = 'text' AND json_type(new.tags) = 'array'
    UNION ALL
    SELECT new.domain_id, 'm' || json_quote(key) || ':' || (CASE type WHEN 'text' THEN json_quote(atom) WHEN 'integer' THEN CAST(atom AS TEXT) WHEN 'real' THEN (CASE WHEN atom = CAST(atom AS INTEGER) THEN CAST(CAST(atom AS INTEGER) AS TEXT) ELSE printf('%!.17g', atom) END) ELSE type END), new.status, (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END), new.id FROM json_each(new.metadata) WHERE json_type(new.metadata) = 'object';
  INSERT INTO channels_name_fts (rowid, name) VALUES (new.rowid, new.name);
END;
--> statement-breakpoint
CREATE TRIGGER `channels_derived_delete` AFTER DELETE ON `channels` BEGIN
  INSERT INTO entity_counts (kind, domain_id, status, level, bucket, n) VALUES ('channel', old.domain_id, old.status, 1, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 42, -1), ('channel', old.domain_id, old.status, 2, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 32, -1), ('channel', old.domain_id, old.status, 3, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 22, -1) ON CONFLICT DO UPDATE SET n = n + excluded.n;
  DELETE FROM entity_counts WHERE kind = 'channel' AND domain_id = old.domain_id AND status = old.status AND (level, bucket) IN (VALUES (1, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 42), (2, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 32), (3, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 22)) AND n = 0;
  DELETE FROM channel_terms WHERE entity_id = old.id;
  INSERT INTO channels_name_fts (channels_name_fts, rowid, name) VALUES ('delete', old.rowid, old.name);
END;
--> statement-breakpoint
CREATE TRIGGER `channels_derived_counts_update` AFTER UPDATE OF status, updated_at, created_at ON `channels`
WHEN old.status IS NOT new.status OR (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) IS NOT (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END) BEGIN
  INSERT INTO entity_counts (kind, domain_id, status, level, bucket, n) VALUES ('channel', old.domain_id, old.status, 1, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 42, -1), ('channel', old.domain_id, old.status, 2, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 32, -1), ('channel', old.domain_id, old.status, 3, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 22, -1) ON CONFLICT DO UPDATE SET n = n + excluded.n;
  DELETE FROM entity_counts WHERE kind = 'channel' AND domain_id = old.domain_id AND status = old.status AND (level, bucket) IN (VALUES (1, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 42), (2, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 32), (3, (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) >> 22)) AND n = 0;
  INSERT INTO entity_counts (kind, domain_id, status, level, bucket, n) VALUES ('channel', new.domain_id, new.status, 1, (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END) >> 42, 1), ('channel', new.domain_id, new.status, 2, (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END) >> 32, 1), ('channel', new.domain_id, new.status, 3, (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END) >> 22, 1) ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
--> statement-breakpoint
CREATE TRIGGER `channels_derived_terms_update` AFTER UPDATE OF tags, metadata, status, updated_at, created_at ON `channels`
WHEN old.tags IS NOT new.tags OR old.metadata IS NOT new.metadata OR old.status IS NOT new.status OR (CASE WHEN old.updated_at IS NULL THEN old.created_at ELSE old.updated_at END) IS NOT (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END) BEGIN
  DELETE FROM channel_terms WHERE entity_id = old.id;
  INSERT OR IGNORE INTO channel_terms (domain_id, term, status, sort_at, entity_id)
    SELECT new.domain_id, 't' || value, new.status, (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END), new.id FROM json_each(new.tags) WHERE type = 'text' AND json_type(new.tags) = 'array'
    UNION ALL
    SELECT new.domain_id, 'm' || json_quote(key) || ':' || (CASE type WHEN 'text' THEN json_quote(atom) WHEN 'integer' THEN CAST(atom AS TEXT) WHEN 'real' THEN (CASE WHEN atom = CAST(atom AS INTEGER) THEN CAST(CAST(atom AS INTEGER) AS TEXT) ELSE printf('%!.17g', atom) END) ELSE type END), new.status, (CASE WHEN new.updated_at IS NULL THEN new.created_at ELSE new.updated_at END), new.id FROM json_each(new.metadata) WHERE json_type(new.metadata) = 'object';
END;
--> statement-breakpoint
CREATE TRIGGER `channels_derived_name_update` AFTER UPDATE OF name ON `channels` WHEN old.name IS NOT new.name BEGIN
  INSERT INTO channels_name_fts (channels_name_fts, rowid, name) VALUES ('delete', old.rowid, old.name);
  INSERT INTO channels_name_fts (rowid, name) VALUES (new.rowid, new.name);
END;
--> statement-breakpoint
INSERT INTO entity_counts (kind, domain_id, status, level, bucket, n) SELECT 'channel', domain_id, status, 1, (CASE WHEN channels.updated_at IS NULL THEN channels.created_at ELSE channels.updated_at END) >> 42, count(*) FROM `channels` GROUP BY domain_id, status, (CASE WHEN channels.updated_at IS NULL THEN channels.created_at ELSE channels.updated_at END) >> 42;
--> statement-breakpoint
INSERT INTO entity_counts (kind, domain_id, status, level, bucket, n) SELECT 'channel', domain_id, status, 2, (CASE WHEN channels.updated_at IS NULL THEN channels.created_at ELSE channels.updated_at END) >> 32, count(*) FROM `channels` GROUP BY domain_id, status, (CASE WHEN channels.updated_at IS NULL THEN channels.created_at ELSE channels.updated_at END) >> 32;
--> statement-breakpoint
INSERT INTO entity_counts (kind, domain_id, status, level, bucket, n) SELECT 'channel', domain_id, status, 3, (CASE WHEN channels.updated_at IS NULL THEN channels.created_at ELSE channels.updated_at END) >> 22, count(*) FROM `channels` GROUP BY domain_id, status, (CASE WHEN channels.updated_at IS NULL THEN channels.created_at ELSE channels.updated_at END) >> 22;
--> statement-breakpoint
INSERT OR IGNORE INTO channel_terms (domain_id, term, status, sort_at, entity_id)
  SELECT e.domain_id, 't' || j.value, e.status, (CASE WHEN e.updated_at IS NULL THEN e.created_at ELSE e.updated_at END), e.id FROM `channels` e, json_each(e.tags) j WHERE j.type = 'text' AND json_type(e.tags) = 'array'
  UNION ALL
  SELECT e.domain_id, 'm' || json_quote(j.key) || ':' || (CASE j.type WHEN 'text' THEN json_quote(j.atom) WHEN 'integer' THEN CAST(j.atom AS TEXT) WHEN 'real' THEN (CASE WHEN j.atom = CAST(j.atom AS INTEGER) THEN CAST(CAST(j.atom AS INTEGER) AS TEXT) ELSE printf('%!.17g', j.atom) END) ELSE j.type END), e.status, (CASE WHEN e.updated_at IS NULL THEN e.created_at ELSE e.updated_at END), e.id FROM `channels` e, json_each(e.metadata) j WHERE json_type(e.metadata) = 'object';
--> statement-breakpoint
INSERT INTO channels_name_fts (channels_name_fts) VALUES ('rebuild');
