// POST /webhooks/clerk: organization events from Clerk (Svix-signed), verified with
// Clerk's own helper. Each event is processed once (webhook_receipts).
import type { Database } from "@callflow/db";
import { verifyWebhook } from "@clerk/backend/webhooks";
import type { Context } from "hono";
import { z } from "zod";

const organizationEvent = z.object({
  type: z.enum(["organization.created", "organization.updated", "organization.deleted"]),
  data: z.object({
    id: z.string().regex(/^[A-Za-z0-9_]{1,64}$/),
    // Postgres text holds no NUL; a name is kept without it rather than refused (Clerk would retry).
    name: z
      .string()
      .max(200)
      .transform((name) => name.replaceAll("\0", ""))
      .optional(),
  }),
});

export function clerkWebhook(database: Database, signingSecret: string | undefined) {
  return async (c: Context) => {
    if (!signingSecret)
      return c.json({ error: "Clerk webhooks are not configured (CLERK_WEBHOOK_SIGNING_SECRET)" }, 503);
    let event: unknown;
    try {
      event = await verifyWebhook(c.req.raw, { signingSecret });
    } catch {
      return c.json({ error: "invalid or missing webhook signature" }, 401);
    }
    // Svix message ids are short tokens (msg_…); the receipt keeps at most 255 characters.
    const eventId = c.req.header("svix-id") ?? "";
    if (!/^[A-Za-z0-9_.:-]{1,255}$/.test(eventId)) {
      return c.json({ error: "svix-id must be 1 to 255 letters, digits or _ . : -" }, 400);
    }
    const parsed = organizationEvent.safeParse(event);
    // Other event types are acknowledged so Clerk does not retry them.
    if (!parsed.success) return c.json({ ignored: true }, 200);
    const { type, data } = parsed.data;
    await database.withService(async (tx) => {
      const receipt = await tx
        .insertInto("webhook_receipts")
        .values({ provider: "clerk", external_id: eventId, kind: type })
        .onConflict((conflict) => conflict.columns(["provider", "external_id"]).doNothing())
        .returning("id")
        .executeTakeFirst();
      if (!receipt) return;
      if (type === "organization.deleted") {
        await tx.deleteFrom("organizations").where("id", "=", data.id).execute();
      } else {
        await tx
          .insertInto("organizations")
          .values({ id: data.id, name: data.name ?? "" })
          .onConflict((conflict) => conflict.column("id").doUpdateSet({ name: data.name ?? "" }))
          .execute();
      }
    });
    return c.json({ ok: true }, 200);
  };
}
