export * from "./agents";
export * from "./conversations";
export * from "./messages";
export * from "./workflow-executions";
export * from "./tool-approvals";
export * from "./outbox";
export * from "./tool-servers";
export * from "./tool-calls";
