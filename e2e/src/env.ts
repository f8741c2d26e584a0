// The end-to-end tests' settings from the environment.
import { createEnv } from "@t3-oss/env-core";
import { z } from "zod";

export const e2eEnv = createEnv({
  server: {
    /** Debian's Chromium unless told otherwise. */
    CHROMIUM_PATH: z.string().min(1).default("/usr/bin/chromium"),
    /**
     * Calls in the cluster's burst (cluster-burst.test.ts), spread over businesses so that no
     * business's throttle sets the pace: 1,000 took about a minute on 2 cores. At most 1,000,
     * the callers burstCallers numbers with a three-digit index.
     */
    E2E_CLUSTER_CALLS: z.coerce.number().int().min(20).max(1000).default(1000),
  },
  runtimeEnv: process.env,
  emptyStringAsUndefined: true,
});

/** Secrets configured on this machine, by name, to look for where they must never be. */
export const configuredValues = (names: readonly string[]) =>
  Object.fromEntries(names.map((name) => [name, process.env[name] ?? ""]));
