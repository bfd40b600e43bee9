CREATE TABLE `client_presence` (
	`client_id` text PRIMARY KEY NOT NULL,
	`domain_id` text NOT NULL,
	`connected` integer DEFAULT 0 NOT NULL,
	`sessions` integer DEFAULT 0 NOT NULL,
	`last_seen` integer,
	`address` text
);
--> statement-breakpoint
CREATE INDEX `client_presence_domain_connected_idx` ON `client_presence` (`domain_id`,`connected`);--> statement-breakpoint
CREATE TABLE `kicks` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`stream` text NOT NULL,
	`payload` text NOT NULL,
	`entity_id` text DEFAULT '' NOT NULL,
	`created_at` integer NOT NULL
);
