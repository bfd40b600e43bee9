CREATE TABLE "client_presence" (
	"client_id" text PRIMARY KEY NOT NULL,
	"domain_id" text NOT NULL,
	"connected" integer DEFAULT 0 NOT NULL,
	"sessions" integer DEFAULT 0 NOT NULL,
	"last_seen" bigint,
	"address" text
);
--> statement-breakpoint
CREATE TABLE "kicks" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"stream" text NOT NULL,
	"payload" text NOT NULL,
	"entity_id" text DEFAULT '' NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "client_presence_domain_connected_idx" ON "client_presence" USING btree ("domain_id","connected");