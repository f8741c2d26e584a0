// The end-to-end tests' settings from the environment.
import { createEnv } from "@t3-oss/env-core";
import { z } from "zod";

export const e2eEnv = createEnv({
  server: {
    /** Debian's Chromium unless told otherwise. */
    CHROMIUM_PATH: z.string().min(1).default("/usr/bin/chromium"),
  },
  runtimeEnv: process.env,
  emptyStringAsUndefined: true,
});

/** Secrets configured on this machine, by name, to look for where they must never be. */
export const configuredValues = (names: readonly string[]) =>
  Object.fromEntries(names.map((name) => [name, process.env[name] ?? ""]));
