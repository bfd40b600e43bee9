CREATE TABLE "channels" (
	"id" text PRIMARY KEY NOT NULL,
	"domain_id" text NOT NULL,
	"name" text DEFAULT '' NOT NULL,
	"tags" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"route" text,
	"parent_group_id" text,
	"status" integer DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint,
	"updated_by" text
);
--> statement-breakpoint
CREATE TABLE "connections" (
	"channel_id" text NOT NULL,
	"domain_id" text NOT NULL,
	"client_id" text NOT NULL,
	"type" integer NOT NULL,
	CONSTRAINT "connections_pk" PRIMARY KEY("channel_id","domain_id","client_id","type"),
	CONSTRAINT "connections_type_check" CHECK ("connections"."type" IN (1, 2))
);
--> statement-breakpoint
ALTER TABLE "connections" ADD CONSTRAINT "connections_channel_id_channels_id_fk" FOREIGN KEY ("channel_id") REFERENCES "public"."channels"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connections" ADD CONSTRAINT "connections_client_id_clients_id_fk" FOREIGN KEY ("client_id") REFERENCES "public"."clients"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "channels_domain_route_uq" ON "channels" USING btree ("domain_id","route");--> statement-breakpoint
CREATE INDEX "channels_domain_status_updated_idx" ON "channels" USING btree ("domain_id","status",(CASE WHEN "updated_at" IS NULL THEN "created_at" ELSE "updated_at" END),"id");--> statement-breakpoint
CREATE INDEX "channels_domain_created_idx" ON "channels" USING btree ("domain_id","created_at");--> statement-breakpoint
CREATE INDEX "channels_domain_name_idx" ON "channels" USING btree ("domain_id","name");--> statement-breakpoint
CREATE INDEX "channels_parent_idx" ON "channels" USING btree ("domain_id","parent_group_id");--> statement-breakpoint
CREATE INDEX "connections_client_idx" ON "connections" USING btree ("client_id","domain_id","type");