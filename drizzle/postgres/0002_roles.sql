CREATE TABLE "channel_role_actions" (
	"role_id" text NOT NULL,
	"action" text NOT NULL,
	CONSTRAINT "channel_role_actions_pk" PRIMARY KEY("role_id","action")
);
--> statement-breakpoint
CREATE TABLE "channel_role_members" (
	"role_id" text NOT NULL,
	"entity_id" text NOT NULL,
	"member_id" text NOT NULL,
	CONSTRAINT "channel_role_members_pk" PRIMARY KEY("role_id","member_id")
);
--> statement-breakpoint
CREATE TABLE "channel_roles" (
	"id" text PRIMARY KEY NOT NULL,
	"entity_id" text NOT NULL,
	"name" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_by" text,
	"updated_at" bigint
);
--> statement-breakpoint
CREATE TABLE "client_role_actions" (
	"role_id" text NOT NULL,
	"action" text NOT NULL,
	CONSTRAINT "client_role_actions_pk" PRIMARY KEY("role_id","action")
);
--> statement-breakpoint
CREATE TABLE "client_role_members" (
	"role_id" text NOT NULL,
	"entity_id" text NOT NULL,
	"member_id" text NOT NULL,
	CONSTRAINT "client_role_members_pk" PRIMARY KEY("role_id","member_id")
);
--> statement-breakpoint
CREATE TABLE "client_roles" (
	"id" text PRIMARY KEY NOT NULL,
	"entity_id" text NOT NULL,
	"name" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_by" text,
	"updated_at" bigint
);
--> statement-breakpoint
ALTER TABLE "channel_role_actions" ADD CONSTRAINT "channel_role_actions_role_id_channel_roles_id_fk" FOREIGN KEY ("role_id") REFERENCES "public"."channel_roles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "channel_role_members" ADD CONSTRAINT "channel_role_members_role_id_channel_roles_id_fk" FOREIGN KEY ("role_id") REFERENCES "public"."channel_roles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "channel_roles" ADD CONSTRAINT "channel_roles_entity_id_channels_id_fk" FOREIGN KEY ("entity_id") REFERENCES "public"."channels"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "client_role_actions" ADD CONSTRAINT "client_role_actions_role_id_client_roles_id_fk" FOREIGN KEY ("role_id") REFERENCES "public"."client_roles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "client_role_members" ADD CONSTRAINT "client_role_members_role_id_client_roles_id_fk" FOREIGN KEY ("role_id") REFERENCES "public"."client_roles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "client_roles" ADD CONSTRAINT "client_roles_entity_id_clients_id_fk" FOREIGN KEY ("entity_id") REFERENCES "public"."clients"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "channel_role_members_entity_member_uq" ON "channel_role_members" USING btree ("entity_id","member_id");--> statement-breakpoint
CREATE INDEX "channel_role_members_member_idx" ON "channel_role_members" USING btree ("member_id","entity_id");--> statement-breakpoint
CREATE UNIQUE INDEX "channel_roles_entity_name_uq" ON "channel_roles" USING btree ("entity_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "client_role_members_entity_member_uq" ON "client_role_members" USING btree ("entity_id","member_id");--> statement-breakpoint
CREATE INDEX "client_role_members_member_idx" ON "client_role_members" USING btree ("member_id","entity_id");--> statement-breakpoint
CREATE UNIQUE INDEX "client_roles_entity_name_uq" ON "client_roles" USING btree ("entity_id","name");