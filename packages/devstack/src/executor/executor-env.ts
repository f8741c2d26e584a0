// The standalone executor's settings (src/cli/dev-executor.ts), validated once. The names
// are the ones the API reads, with the same meaning: the keys are those its Inngest client
// uses, so API processes started with INNGEST_BASE_URL=<this executor>, INNGEST_EVENT_KEY
// and INNGEST_SIGNING_KEY talk to it as they would to Inngest.
import { z } from "zod";
import { SIGNING_KEY_PATTERN } from "./signing.ts";

export const executorEnvSchema = z.object({
  /** The database whose `devstack` schema holds the runs (the embedded one through its socket too). */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: "DATABASE_URL must be a postgresql:// URL" }),
  /** Connections to it; 1 for PGlite's socket, which serves one connection. */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  /** The executor's port: what INNGEST_BASE_URL points at. 0: any free port. */
  INNGEST_EXECUTOR_PORT: z.coerce.number().int().min(0).max(65535).default(8288),
  INNGEST_EXECUTOR_HOST: z.string().min(1).default("127.0.0.1"),
  INNGEST_EVENT_KEY: z.string({ error: "INNGEST_EVENT_KEY is required" }).min(1, "INNGEST_EVENT_KEY is required"),
  INNGEST_SIGNING_KEY: z
    .string({ error: "INNGEST_SIGNING_KEY is required" })
    .regex(SIGNING_KEY_PATTERN, "INNGEST_SIGNING_KEY must look like signkey-<env>-<hex>"),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
});

export type ExecutorEnv = z.infer<typeof executorEnvSchema>;

/** Empty values count as unset, as in the API's env. */
export function readExecutorEnv(source: Record<string, string | undefined>) {
  const present = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== ""));
  return executorEnvSchema.safeParse(present);
}
