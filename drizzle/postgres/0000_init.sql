CREATE TABLE "clients" (
	"id" text PRIMARY KEY NOT NULL,
	"domain_id" text NOT NULL,
	"name" text DEFAULT '' NOT NULL,
	"tags" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"identity" text DEFAULT '' NOT NULL,
	"secret_hash" text NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"private_metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"parent_group_id" text,
	"status" integer DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint,
	"updated_by" text
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"stream" text NOT NULL,
	"payload" text NOT NULL,
	"entity_id" text DEFAULT '' NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "clients_domain_secret_uq" ON "clients" USING btree ("domain_id","secret_hash");--> statement-breakpoint
CREATE INDEX "clients_domain_status_updated_idx" ON "clients" USING btree ("domain_id","status",(CASE WHEN "updated_at" IS NULL THEN "created_at" ELSE "updated_at" END),"id");--> statement-breakpoint
CREATE INDEX "clients_domain_created_idx" ON "clients" USING btree ("domain_id","created_at");--> statement-breakpoint
CREATE INDEX "clients_domain_name_idx" ON "clients" USING btree ("domain_id","name");--> statement-breakpoint
CREATE INDEX "clients_parent_idx" ON "clients" USING btree ("domain_id","parent_group_id");