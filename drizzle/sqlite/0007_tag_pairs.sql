-- tag_pairs_uncounted: entities per (kind, domain, status) whose tag pairs are not counted in
-- <kind>_tag_pairs (more than 32 distinct tags: an entity with k tags has k(k-1)/2 pairs, which
-- would make every write of it that many rows).
CREATE TABLE `tag_pairs_uncounted` (
	`kind` text NOT NULL,
	`domain_id` text NOT NULL,
	`status` integer NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY(`kind`, `domain_id`, `status`)
) WITHOUT ROWID;
--> statement-breakpoint
-- client_tag_pairs: entities per (domain, pair of distinct tags a < b, status), kept by triggers on
-- clients, so that a list filtered by two tags takes its total from rows instead of counting:
-- all {a, b} = the pair's n; any {a, b} = n(a) + n(b) - the pair's n (one tag's n in client_term_counts).
-- An entity with more than 32 distinct tags (496 pairs) is not paired but counted in
-- tag_pairs_uncounted, and while that count is not 0 the lists of its domain and status count
-- two tags as before (walks with probes). Derived, like everything of 0003: not in the Drizzle
-- schema, not in a dump: import rebuilds it through these triggers, and the backfill at the end
-- of this migration builds it from the rows already there (an upgrade, or a restored older backup).
CREATE TABLE `client_tag_pairs` (
	`domain_id` text NOT NULL,
	`a` text NOT NULL,
	`b` text NOT NULL,
	`status` integer NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY(`domain_id`, `a`, `b`, `status`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TRIGGER `clients_tag_pairs_insert` AFTER INSERT ON `clients` WHEN json_array_length(new.tags) >= 2 BEGIN
  INSERT INTO client_tag_pairs (domain_id, a, b, status, n)
    SELECT DISTINCT new.domain_id, x.value, y.value, new.status, 1 FROM json_each(new.tags) x, json_each(new.tags) y
    WHERE x.type = 'text' AND y.type = 'text' AND x.value < y.value AND (json_array_length(new.tags) <= 32 OR (SELECT count(DISTINCT value) FROM json_each(new.tags) WHERE type = 'text') <= 32)
    ON CONFLICT DO UPDATE SET n = n + 1;
  INSERT INTO tag_pairs_uncounted (kind, domain_id, status, n)
    SELECT 'client', new.domain_id, new.status, 1 WHERE json_array_length(new.tags) > 32 AND (SELECT count(DISTINCT value) FROM json_each(new.tags) WHERE type = 'text') > 32
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `clients_tag_pairs_delete` AFTER DELETE ON `clients` WHEN json_array_length(old.tags) >= 2 BEGIN
  UPDATE client_tag_pairs SET n = n - 1 WHERE domain_id = old.domain_id AND status = old.status
    AND (a, b) IN (SELECT x.value, y.value FROM json_each(old.tags) x, json_each(old.tags) y WHERE x.type = 'text' AND y.type = 'text' AND x.value < y.value) AND (json_array_length(old.tags) <= 32 OR (SELECT count(DISTINCT value) FROM json_each(old.tags) WHERE type = 'text') <= 32);
  DELETE FROM client_tag_pairs WHERE domain_id = old.domain_id AND status = old.status AND n = 0
    AND (a, b) IN (SELECT x.value, y.value FROM json_each(old.tags) x, json_each(old.tags) y WHERE x.type = 'text' AND y.type = 'text' AND x.value < y.value);
  UPDATE tag_pairs_uncounted SET n = n - 1 WHERE kind = 'client' AND domain_id = old.domain_id AND status = old.status AND json_array_length(old.tags) > 32 AND (SELECT count(DISTINCT value) FROM json_each(old.tags) WHERE type = 'text') > 32;
  DELETE FROM tag_pairs_uncounted WHERE kind = 'client' AND domain_id = old.domain_id AND status = old.status AND n = 0;
END;
--> statement-breakpoint
CREATE TRIGGER `clients_tag_pairs_update` AFTER UPDATE OF tags, status ON `clients`
WHEN (old.tags IS NOT new.tags OR old.status IS NOT new.status) AND (json_array_length(old.tags) >= 2 OR json_array_length(new.tags) >= 2) BEGIN
  UPDATE client_tag_pairs SET n = n - 1 WHERE domain_id = old.domain_id AND status = old.status
    AND (a, b) IN (SELECT x.value, y.value FROM json_each(old.tags) x, json_each(old.tags) y WHERE x.type = 'text' AND y.type = 'text' AND x.value < y.value) AND (json_array_length(old.tags) <= 32 OR (SELECT count(DISTINCT value) FROM json_each(old.tags) WHERE type = 'text') <= 32);
  DELETE FROM client_tag_pairs WHERE domain_id = old.domain_id AND status = old.status AND n = 0
    AND (a, b) IN (SELECT x.value, y.value FROM json_each(old.tags) x, json_each(old.tags) y WHERE x.type = 'text' AND y.type = 'text' AND x.value < y.value);
  UPDATE tag_pairs_uncounted SET n = n - 1 WHERE kind = 'client' AND domain_id = old.domain_id AND status = old.status AND json_array_length(old.tags) > 32 AND (SELECT count(DISTINCT value) FROM json_each(old.tags) WHERE type = 'text') > 32;
  DELETE FROM tag_pairs_uncounted WHERE kind = 'client' AND domain_id = old.domain_id AND status = old.status AND n = 0;
  INSERT INTO client_tag_pairs (domain_id, a, b, status, n)
    SELECT DISTINCT new.domain_id, x.value, y.value, new.status, 1 FROM json_each(new.tags) x, json_each(new.tags) y
    WHERE x.type = 'text' AND y.type = 'text' AND x.value < y.value AND (json_array_length(new.tags) <= 32 OR (SELECT count(DISTINCT value) FROM json_each(new.tags) WHERE type = 'text') <= 32)
    ON CONFLICT DO UPDATE SET n = n + 1;
  INSERT INTO tag_pairs_uncounted (kind, domain_id, status, n)
    SELECT 'client', new.domain_id, new.status, 1 WHERE json_array_length(new.tags) > 32 AND (SELECT count(DISTINCT value) FROM json_each(new.tags) WHERE type = 'text') > 32
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
--> statement-breakpoint
INSERT INTO client_tag_pairs (domain_id, a, b, status, n)
  SELECT domain_id, a, b, status, count(*) FROM (
    SELECT DISTINCT e.rowid, e.domain_id, e.status, x.value AS a, y.value AS b FROM `clients` e, json_each(e.tags) x, json_each(e.tags) y
    WHERE json_array_length(e.tags) >= 2 AND x.type = 'text' AND y.type = 'text' AND x.value < y.value AND (json_array_length(e.tags) <= 32 OR (SELECT count(DISTINCT value) FROM json_each(e.tags) WHERE type = 'text') <= 32))
  GROUP BY domain_id, a, b, status;
--> statement-breakpoint
INSERT INTO tag_pairs_uncounted (kind, domain_id, status, n)
  SELECT 'client', domain_id, status, count(*) FROM `clients` e WHERE json_array_length(e.tags) > 32 AND (SELECT count(DISTINCT value) FROM json_each(e.tags) WHERE type = 'text') > 32
  GROUP BY domain_id, status;
--> statement-breakpoint
-- channel_tag_pairs: the same for channels.
CREATE TABLE `channel_tag_pairs` (
	`domain_id` text NOT NULL,
	`a` text NOT NULL,
	`b` text NOT NULL,
	`status` integer NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY(`domain_id`, `a`, `b`, `status`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TRIGGER `channels_tag_pairs_insert` AFTER INSERT ON `channels` WHEN json_array_length(new.tags) >= 2 BEGIN
  INSERT INTO channel_tag_pairs (domain_id, a, b, status, n)
    SELECT DISTINCT new.domain_id, x.value, y.value, new.status, 1 FROM json_each(new.tags) x, json_each(new.tags) y
    WHERE x.type = 'text' AND y.type = 'text' AND x.value < y.value AND (json_array_length(new.tags) <= 32 OR (SELECT count(DISTINCT value) FROM json_each(new.tags) WHERE type = 'text') <= 32)
    ON CONFLICT DO UPDATE SET n = n + 1;
  INSERT INTO tag_pairs_uncounted (kind, domain_id, status, n)
    SELECT 'channel', new.domain_id, new.status, 1 WHERE json_array_length(new.tags) > 32 AND (SELECT count(DISTINCT value) FROM json_each(new.tags) WHERE type = 'text') > 32
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `channels_tag_pairs_delete` AFTER DELETE ON `channels` WHEN json_array_length(old.tags) >= 2 BEGIN
  UPDATE channel_tag_pairs SET n = n - 1 WHERE domain_id = old.domain_id AND status = old.status
    AND (a, b) IN (SELECT x.value, y.value FROM json_each(old.tags) x, json_each(old.tags) y WHERE x.type = 'text' AND y.type = 'text' AND x.value < y.value) AND (json_array_length(old.tags) <= 32 OR (SELECT count(DISTINCT value) FROM json_each(old.tags) WHERE type = 'text') <= 32);
  DELETE FROM channel_tag_pairs WHERE domain_id = old.domain_id AND status = old.status AND n = 0
    AND (a, b) IN (SELECT x.value, y.value FROM json_each(old.tags) x, json_each(old.tags) y WHERE x.type = 'text' AND y.type = 'text' AND x.value < y.value);
  UPDATE tag_pairs_uncounted SET n = n - 1 WHERE kind = 'channel' AND domain_id = old.domain_id AND status = old.status AND json_array_length(old.tags) > 32 AND (SELECT count(DISTINCT value) FROM json_each(old.tags) WHERE type = 'text') > 32;
  DELETE FROM tag_pairs_uncounted WHERE kind = 'channel' AND domain_id = old.domain_id AND status = old.status AND n = 0;
END;
--> statement-breakpoint
CREATE TRIGGER `channels_tag_pairs_update` AFTER UPDATE OF tags, status ON `channels`
WHEN (old.tags IS NOT new.tags OR old.status IS NOT new.status) AND (json_array_length(old.tags) >= 2 OR json_array_length(new.tags) >= 2) BEGIN
  UPDATE channel_tag_pairs SET n = n - 1 WHERE domain_id = old.domain_id AND status = old.status
    AND (a, b) IN (SELECT x.value, y.value FROM json_each(old.tags) x, json_each(old.tags) y WHERE x.type = 'text' AND y.type = 'text' AND x.value < y.value) AND (json_array_length(old.tags) <= 32 OR (SELECT count(DISTINCT value) FROM json_each(old.tags) WHERE type = 'text') <= 32);
  DELETE FROM channel_tag_pairs WHERE domain_id = old.domain_id AND status = old.status AND n = 0
    AND (a, b) IN (SELECT x.value, y.value FROM json_each(old.tags) x, json_each(old.tags) y WHERE x.type = 'text' AND y.type = 'text' AND x.value < y.value);
  UPDATE tag_pairs_uncounted SET n = n - 1 WHERE kind = 'channel' AND domain_id = old.domain_id AND status = old.status AND json_array_length(old.tags) > 32 AND (SELECT count(DISTINCT value) FROM json_each(old.tags) WHERE type = 'text') > 32;
  DELETE FROM tag_pairs_uncounted WHERE kind = 'channel' AND domain_id = old.domain_id AND status = old.status AND n = 0;
  INSERT INTO channel_tag_pairs (domain_id, a, b, status, n)
    SELECT DISTINCT new.domain_id, x.value, y.value, new.status, 1 FROM json_each(new.tags) x, json_each(new.tags) y
    WHERE x.type = 'text' AND y.type = 'text' AND x.value < y.value AND (json_array_length(new.tags) <= 32 OR (SELECT count(DISTINCT value) FROM json_each(new.tags) WHERE type = 'text') <= 32)
    ON CONFLICT DO UPDATE SET n = n + 1;
  INSERT INTO tag_pairs_uncounted (kind, domain_id, status, n)
    SELECT 'channel', new.domain_id, new.status, 1 WHERE json_array_length(new.tags) > 32 AND (SELECT count(DISTINCT value) FROM json_each(new.tags) WHERE type = 'text') > 32
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
--> statement-breakpoint
INSERT INTO channel_tag_pairs (domain_id, a, b, status, n)
  SELECT domain_id, a, b, status, count(*) FROM (
    SELECT DISTINCT e.rowid, e.domain_id, e.status, x.value AS a, y.value AS b FROM `channels` e, json_each(e.tags) x, json_each(e.tags) y
    WHERE json_array_length(e.tags) >= 2 AND x.type = 'text' AND y.type = 'text' AND x.value < y.value AND (json_array_length(e.tags) <= 32 OR (SELECT count(DISTINCT value) FROM json_each(e.tags) WHERE type = 'text') <= 32))
  GROUP BY domain_id, a, b, status;
--> statement-breakpoint
INSERT INTO tag_pairs_uncounted (kind, domain_id, status, n)
  SELECT 'channel', domain_id, status, count(*) FROM `channels` e WHERE json_array_length(e.tags) > 32 AND (SELECT count(DISTINCT value) FROM json_each(e.tags) WHERE type = 'text') > 32
  GROUP BY domain_id, status;