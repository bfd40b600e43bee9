CREATE TABLE `channels` (
	`id` text PRIMARY KEY NOT NULL,
	`domain_id` text NOT NULL,
	`name` text DEFAULT '' NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	`metadata` text DEFAULT '{}' NOT NULL,
	`route` text,
	`parent_group_id` text,
	`status` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer,
	`updated_by` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `channels_domain_route_uq` ON `channels` (`domain_id`,`route`);--> statement-breakpoint
CREATE INDEX `channels_domain_status_updated_idx` ON `channels` (`domain_id`,`status`,(CASE WHEN "updated_at" IS NULL THEN "created_at" ELSE "updated_at" END),`id`);--> statement-breakpoint
CREATE INDEX `channels_domain_created_idx` ON `channels` (`domain_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `channels_domain_name_idx` ON `channels` (`domain_id`,`name`);--> statement-breakpoint
CREATE INDEX `channels_parent_idx` ON `channels` (`domain_id`,`parent_group_id`);--> statement-breakpoint
CREATE TABLE `connections` (
	`channel_id` text NOT NULL,
	`domain_id` text NOT NULL,
	`client_id` text NOT NULL,
	`type` integer NOT NULL,
	PRIMARY KEY(`channel_id`, `domain_id`, `client_id`, `type`),
	FOREIGN KEY (`channel_id`) REFERENCES `channels`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`client_id`) REFERENCES `clients`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "connections_type_check" CHECK("connections"."type" IN (1, 2))
);
--> statement-breakpoint
CREATE INDEX `connections_client_idx` ON `connections` (`client_id`,`domain_id`,`type`);