// Local mode's stand-ins for cloud services: the ports they listen on, read from the
// environment here and nowhere else (0: any free port).
import { createEnv } from "@t3-oss/env-core";
import { z } from "zod";

type EnvSource = Record<string, string | undefined>;

const port = z.coerce.number().int().min(0).max(65535).default(0);

export function devstackEnv(source: EnvSource = process.env) {
  return createEnv({
    server: {
      TWILIO_SANDBOX_PORT: port,
      STRIPE_SANDBOX_PORT: port,
      INNGEST_EXECUTOR_PORT: port,
      /** Where the executor listens; another address only when API processes elsewhere share it. */
      INNGEST_EXECUTOR_HOST: z.string().min(1).default("127.0.0.1"),
    },
    runtimeEnv: source,
    emptyStringAsUndefined: true,
  });
}
