import { TRPCError } from "@trpc/server";
import type { OrgContext } from "../../trpc.ts";

/** Stripe's Customer Portal: card, invoices, plan changes and cancellation, back to Billing after. */
export async function createPortalSession({ ctx }: { ctx: OrgContext }) {
  if (!ctx.billing) throw new TRPCError({ code: "PRECONDITION_FAILED", message: "billing is not configured" });
  const row = await ctx.db((tx) => tx.selectFrom("subscriptions").select("stripe_customer_id").executeTakeFirst());
  if (!row?.stripe_customer_id) {
    throw new TRPCError({
      code: "PRECONDITION_FAILED",
      message: "this business has no billing account yet: choose a plan first",
    });
  }
  const url = await ctx.billing.portalUrl({
    customerId: row.stripe_customer_id,
    returnUrl: `${ctx.dashboardUrl}/billing`,
  });
  return { url };
}
