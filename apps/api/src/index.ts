// @callflow/api: the product as a library (start it, configure it) and its router's types
// for typed clients (the dashboard imports types only).
export { type CallflowConfig, ConfigError, loadConfig } from "./config.ts";
export { type DeliverySnapshot, readDeliverySnapshot } from "./observability/delivery-snapshot.ts";
export { type RunningCallflow, startCallflow } from "./start-callflow.ts";
export type { AppRouter, RouterInputs, RouterOutputs } from "./trpc/root.ts";
