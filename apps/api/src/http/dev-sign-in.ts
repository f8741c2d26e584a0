// Local mode's sign-in for the dashboard, mounted only when the API has a dev token issuer
// (no Clerk keys): the demo businesses to choose from, and a session token for a chosen
// business and role. Tokens are shaped and verified like Clerk's and live as briefly, so
// the dashboard refreshes them the same way in both modes.
import type { Database } from "@callflow/db";
import type { DevTokenIssuer } from "@callflow/devstack";
import { Hono } from "hono";
import { z } from "zod";
import { clientAddress, fromThisMachine } from "./client-address.ts";

export const DEV_SESSION_SECONDS = 60;

export interface DevSignInOptions {
  database: Database;
  issuer: Pick<DevTokenIssuer, "issue">;
  /** The dashboard's origin: the tokens' `azp`, which the API checks. */
  authorizedParty: string;
  ttlSeconds?: number;
}

export const devSignInInput = z.object({
  orgId: z.string().regex(/^org_[A-Za-z0-9_]{1,100}$/, "orgId is an organization id such as org_demo_rosas_bakery"),
  role: z.enum(["admin", "member"], { error: 'role is "admin" or "member"' }),
});

const listOrganizations = (database: Database) =>
  database.withService((tx) =>
    tx
      .selectFrom("organizations")
      .select(["id", "name", "timezone"])
      .orderBy("name")
      .orderBy("id")
      .limit(100)
      .execute(),
  );

export function devSignIn(options: DevSignInOptions) {
  const ttlSeconds = options.ttlSeconds ?? DEV_SESSION_SECONDS;
  return (
    new Hono()
      // Local sign-in is for the person at this machine: not for anyone else on its network.
      .use(async (c, next) => {
        if (!fromThisMachine(clientAddress(c))) {
          return c.json({ error: "local sign-in answers only on the machine CallFlow runs on" }, 403);
        }
        await next();
      })
      .get("/sign-in", async (c) => {
        c.header("cache-control", "no-store");
        return c.json({ organizations: await listOrganizations(options.database), roles: ["admin", "member"] });
      })
      .post("/sign-in", async (c) => {
        const body = await c.req.json().catch(() => undefined);
        if (body === undefined) return c.json({ error: "the body must be JSON: { orgId, role }" }, 400);
        const parsed = devSignInInput.safeParse(body);
        if (!parsed.success) {
          const reason = parsed.error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`);
          return c.json({ error: reason.join("; ") }, 400);
        }
        const { orgId, role } = parsed.data;
        const known = (await listOrganizations(options.database)).some((organization) => organization.id === orgId);
        if (!known) return c.json({ error: `no organization ${orgId}: choose one that GET /dev/sign-in lists` }, 404);
        const issuedAt = Math.floor(Date.now() / 1000);
        const token = options.issuer.issue({
          orgId,
          role,
          userId: `user_local_${role}`,
          authorizedParty: options.authorizedParty,
          ttlSeconds,
          now: new Date(issuedAt * 1000),
        });
        c.header("cache-control", "no-store");
        return c.json({ token, expiresAt: new Date((issuedAt + ttlSeconds) * 1000).toISOString() });
      })
  );
}
