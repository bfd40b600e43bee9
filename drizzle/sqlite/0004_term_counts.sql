-- <kind>_term_counts: entities per (domain, term, status), kept by triggers on the terms tables
-- themselves, so that a list filtered by one tag or one scalar metadata member takes its total
-- from one row instead of counting its matches (100,000 of them at a million clients).
-- Derived, like everything of 0003: not in the Drizzle schema, not in a dump.
CREATE TABLE `client_term_counts` (
	`domain_id` text NOT NULL,
	`term` text NOT NULL,
	`status` integer NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY(`domain_id`, `term`, `status`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `channel_term_counts` (
	`domain_id` text NOT NULL,
	`term` text NOT NULL,
	`status` integer NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY(`domain_id`, `term`, `status`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TRIGGER `client_terms_count_insert` AFTER INSERT ON `client_terms` BEGIN
  INSERT INTO client_term_counts (domain_id, term, status, n) VALUES (new.domain_id, new.term, new.status, 1) ON CONFLICT DO UPDATE SET n = n + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `client_terms_count_delete` AFTER DELETE ON `client_terms` BEGIN
  UPDATE client_term_counts SET n = n - 1 WHERE domain_id = old.domain_id AND term = old.term AND status = old.status;
  DELETE FROM client_term_counts WHERE domain_id = old.domain_id AND term = old.term AND status = old.status AND n = 0;
END;
--> statement-breakpoint
CREATE TRIGGER `channel_terms_count_insert` AFTER INSERT ON `channel_terms` BEGIN
  INSERT INTO channel_term_counts (domain_id, term, status, n) VALUES (new.domain_id, new.term, new.status, 1) ON CONFLICT DO UPDATE SET n = n + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `channel_terms_count_delete` AFTER DELETE ON `channel_terms` BEGIN
  UPDATE channel_term_counts SET n = n - 1 WHERE domain_id = old.domain_id AND term = old.term AND status = old.status;
  DELETE FROM channel_term_counts WHERE domain_id = old.domain_id AND term = old.term AND status = old.status AND n = 0;
END;
--> statement-breakpoint
INSERT INTO client_term_counts (domain_id, term, status, n) SELECT domain_id, term, status, count(*) FROM client_terms GROUP BY domain_id, term, status;
--> statement-breakpoint
INSERT INTO channel_term_counts (domain_id, term, status, n) SELECT domain_id, term, status, count(*) FROM channel_terms GROUP BY domain_id, term, status;
