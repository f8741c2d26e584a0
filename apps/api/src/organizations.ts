// Organizations appear without setup: the first request of a Clerk org creates its row
// (system work, so it runs as service_role); Clerk's webhooks keep names in sync.
import type { Database } from "@callflow/db";
import type { Session } from "./auth/session.ts";

export function createOrganizationProvisioner(database: Database) {
  const known = new Set<string>();
  return async (session: Session): Promise<void> => {
    const orgId = session.orgId;
    if (!orgId || known.has(orgId)) return;
    const o = session.claims.o as { slg?: unknown } | undefined;
    const name = typeof o?.slg === "string" ? o.slg : "";
    await database.withService((tx) =>
      tx
        .insertInto("organizations")
        .values({ id: orgId, name })
        .onConflict((conflict) => conflict.column("id").doNothing())
        .execute(),
    );
    known.add(orgId);
  };
}
