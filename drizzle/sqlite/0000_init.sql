CREATE TABLE `clients` (
	`id` text PRIMARY KEY NOT NULL,
	`domain_id` text NOT NULL,
	`name` text DEFAULT '' NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	`identity` text DEFAULT '' NOT NULL,
	`secret_hash` text NOT NULL,
	`metadata` text DEFAULT '{}' NOT NULL,
	`private_metadata` text DEFAULT '{}' NOT NULL,
	`parent_group_id` text,
	`status` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer,
	`updated_by` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `clients_domain_secret_uq` ON `clients` (`domain_id`,`secret_hash`);--> statement-breakpoint
CREATE INDEX `clients_domain_status_updated_idx` ON `clients` (`domain_id`,`status`,(CASE WHEN "updated_at" IS NULL THEN "created_at" ELSE "updated_at" END),`id`);--> statement-breakpoint
CREATE INDEX `clients_domain_created_idx` ON `clients` (`domain_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `clients_domain_name_idx` ON `clients` (`domain_id`,`name`);--> statement-breakpoint
CREATE INDEX `clients_parent_idx` ON `clients` (`domain_id`,`parent_group_id`);--> statement-breakpoint
CREATE TABLE `outbox` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`stream` text NOT NULL,
	`payload` text NOT NULL,
	`entity_id` text DEFAULT '' NOT NULL,
	`created_at` integer NOT NULL
);
