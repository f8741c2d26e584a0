// The benchmarks' settings from the environment (flags cover the rest).
import { createEnv } from "@t3-oss/env-core";
import { z } from "zod";

export const benchEnv = createEnv({
  server: {
    /** A PostgreSQL server to benchmark on; unset: the one scripts/pg-server.sh prepares. */
    BENCH_DATABASE_URL: z.string().url().optional(),
    BENCH_PGLITE_DIR: z.string().min(1).default("/tmp/callflow-bench-pglite"),
  },
  runtimeEnv: process.env,
  emptyStringAsUndefined: true,
});
