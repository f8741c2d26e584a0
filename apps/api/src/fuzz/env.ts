// The stack fuzzer's settings: a seed replays a run; the length trades time for depth.
import { createEnv } from "@t3-oss/env-core";
import { z } from "zod";

export const fuzzEnv = createEnv({
  server: {
    FUZZ_SEED: z.coerce.number().int().default(20261130),
    FUZZ_REQUESTS: z.coerce.number().int().min(1).default(10_000),
  },
  runtimeEnv: process.env,
  emptyStringAsUndefined: true,
});
