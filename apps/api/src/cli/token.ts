// npm run -s token -- --org <orgId> [--role admin|member] [--user <userId>]
// Prints a session token from the local dev issuer. Refuses when Clerk is configured:
// then only Clerk's own tokens are accepted, and this one would be rejected.
import { openDevTokenIssuer } from "@callflow/devstack";
import { z } from "zod";
import { loadConfig, webOriginsOf } from "../config.ts";
import { readCliArgs } from "./cli-args.ts";

const usage = "usage: npm run -s token -- --org <orgId> [--role admin|member] [--user <userId>] [--ttl <seconds>]";
const argsSchema = z.object({
  org: z
    .string({ error: "--org is required" })
    .regex(/^[A-Za-z0-9_]{1,64}$/, "--org must be a Clerk-style id such as org_demo_rosas_bakery"),
  role: z.enum(["admin", "member"], { error: "--role must be admin or member" }).default("admin"),
  user: z
    .string()
    .regex(/^[A-Za-z0-9_]{1,64}$/, "--user must be an id such as user_dev")
    .optional(),
  ttl: z.coerce
    .number()
    .int()
    .min(60)
    .max(86_400 * 30)
    .default(86_400),
});

const config = loadConfig();
if (config.auth.kind === "clerk") {
  console.error(
    "token: Clerk keys are configured, so the API accepts only Clerk's tokens; sign in through Clerk instead",
  );
  process.exit(1);
}
const args = readCliArgs("token", usage, argsSchema, ["org", "role", "user", "ttl"]);
// The same DATA_DIR, WEB_PORT and WEB_ORIGIN as the API reads: its issuer key, its first authorized party.
const issuer = openDevTokenIssuer(config.dataDir);
const authorizedParty = (config.authorizedParties ?? webOriginsOf(config, null))[0];
console.log(
  issuer.issue({
    orgId: args.org,
    role: args.role,
    userId: args.user,
    ttlSeconds: args.ttl,
    authorizedParty,
  }),
);
