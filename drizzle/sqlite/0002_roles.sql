CREATE TABLE `channel_role_actions` (
	`role_id` text NOT NULL,
	`action` text NOT NULL,
	PRIMARY KEY(`role_id`, `action`),
	FOREIGN KEY (`role_id`) REFERENCES `channel_roles`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `channel_role_members` (
	`role_id` text NOT NULL,
	`entity_id` text NOT NULL,
	`member_id` text NOT NULL,
	PRIMARY KEY(`role_id`, `member_id`),
	FOREIGN KEY (`role_id`) REFERENCES `channel_roles`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `channel_role_members_entity_member_uq` ON `channel_role_members` (`entity_id`,`member_id`);--> statement-breakpoint
CREATE INDEX `channel_role_members_member_idx` ON `channel_role_members` (`member_id`,`entity_id`);--> statement-breakpoint
CREATE TABLE `channel_roles` (
	`id` text PRIMARY KEY NOT NULL,
	`entity_id` text NOT NULL,
	`name` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_by` text,
	`updated_at` integer,
	FOREIGN KEY (`entity_id`) REFERENCES `channels`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `channel_roles_entity_name_uq` ON `channel_roles` (`entity_id`,`name`);--> statement-breakpoint
CREATE TABLE `client_role_actions` (
	`role_id` text NOT NULL,
	`action` text NOT NULL,
	PRIMARY KEY(`role_id`, `action`),
	FOREIGN KEY (`role_id`) REFERENCES `client_roles`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `client_role_members` (
	`role_id` text NOT NULL,
	`entity_id` text NOT NULL,
	`member_id` text NOT NULL,
	PRIMARY KEY(`role_id`, `member_id`),
	FOREIGN KEY (`role_id`) REFERENCES `client_roles`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `client_role_members_entity_member_uq` ON `client_role_members` (`entity_id`,`member_id`);--> statement-breakpoint
CREATE INDEX `client_role_members_member_idx` ON `client_role_members` (`member_id`,`entity_id`);--> statement-breakpoint
CREATE TABLE `client_roles` (
	`id` text PRIMARY KEY NOT NULL,
	`entity_id` text NOT NULL,
	`name` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_by` text,
	`updated_at` integer,
	FOREIGN KEY (`entity_id`) REFERENCES `clients`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `client_roles_entity_name_uq` ON `client_roles` (`entity_id`,`name`);