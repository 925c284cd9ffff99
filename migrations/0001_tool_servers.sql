CREATE TYPE "public"."tool_server_transport" AS ENUM('http', 'sse');--> statement-breakpoint
CREATE TABLE "tool_servers" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"url" text NOT NULL,
	"transport" "tool_server_transport" DEFAULT 'http' NOT NULL,
	"headers" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"approvals" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
