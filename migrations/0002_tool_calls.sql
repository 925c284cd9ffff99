CREATE TYPE "public"."tool_call_status" AS ENUM('started', 'succeeded', 'failed');--> statement-breakpoint
CREATE TABLE "tool_calls" (
	"execution_id" text NOT NULL,
	"tool_call_id" text NOT NULL,
	"tool_name" text NOT NULL,
	"status" "tool_call_status" NOT NULL,
	"output" jsonb,
	"error_text" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "tool_calls_execution_id_tool_call_id_pk" PRIMARY KEY("execution_id","tool_call_id")
);
