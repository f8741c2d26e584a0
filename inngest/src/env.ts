// Where CallFlow's events and runs go, read from the environment here and nowhere else, with
// the meanings the Inngest SDK gives these variables: INNGEST_DEV is a boolean ("1", "true",
// "0", "false", any case) or the dev server's URL (inngest-js helpers/env.ts, Inngest.mode).
import { createEnv } from "@t3-oss/env-core";
import { z } from "zod";

type EnvSource = Record<string, string | undefined>;

/** INNGEST_DEV as the SDK reads it: dev mode on or off, and the dev server's URL when one is given. */
export type InngestDevSetting = { dev: boolean; url: string | null } | null;

export const inngestDevSetting = z
  .string()
  .optional()
  .transform((raw, ctx): InngestDevSetting => {
    if (raw === undefined) return null;
    const value = raw.trim().toLowerCase();
    if (value === "1" || value === "true") return { dev: true, url: null };
    if (value === "0" || value === "false") return { dev: false, url: null };
    try {
      const url = new URL(/^[a-z]+:\/\//.test(raw.trim()) ? raw.trim() : `http://${raw.trim()}`);
      return { dev: true, url: url.href.replace(/\/$/, "") };
    } catch {
      ctx.addIssue({ code: "custom", message: "INNGEST_DEV is 1, true, 0, false or the dev server's URL" });
      return z.NEVER;
    }
  });

/** Inngest's key format: signkey-<environment>-<hex secret>. */
const signingKey = z
  .string()
  .regex(/^signkey-\w+-(?:[0-9a-fA-F]{2})+$/, "INNGEST_SIGNING_KEY must look like signkey-<env>-<hex>");

export function inngestEnv(source: EnvSource = process.env) {
  return createEnv({
    server: {
      INNGEST_EVENT_KEY: z.string().min(1).optional(),
      INNGEST_SIGNING_KEY: signingKey.optional(),
      /** The previous signing key while the current one is being rotated. */
      INNGEST_SIGNING_KEY_FALLBACK: signingKey.optional(),
      INNGEST_BASE_URL: z.string().url().optional(),
      INNGEST_DEV: inngestDevSetting,
      /** Where Inngest reaches the functions, when not PUBLIC_URL (the SDK's own setting). */
      INNGEST_SERVE_ORIGIN: z.string().url().optional(),
    },
    runtimeEnv: source,
    emptyStringAsUndefined: true,
  });
}
