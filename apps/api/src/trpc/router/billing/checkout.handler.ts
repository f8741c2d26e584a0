import { isPlanId, plans } from "@callflow/domain";
import { TRPCError } from "@trpc/server";
import { sql } from "kysely";
import type { OrgContext } from "../../trpc.ts";
import type { BillingCheckoutInput } from "./checkout.schema.ts";
import { LIVE_STRIPE_STATUSES } from "./status.handler.ts";

/**
 * Stripe Checkout for a paid plan, for a business without a live Stripe subscription (one
 * that has one changes plan in the portal; a plan CallFlow granted without Stripe, such as
 * a trial, can be turned into a paid one here). The Stripe customer is made on first need,
 * for this organization only, and linked both ways: its metadata names the org, the org's
 * row its id.
 */
export async function createCheckoutSession({ ctx, input }: { ctx: OrgContext; input: BillingCheckoutInput }) {
  const billing = ctx.billing;
  if (!billing) throw new TRPCError({ code: "PRECONDITION_FAILED", message: "billing is not configured" });
  const plan = isPlanId(input.plan) ? plans[input.plan] : null;
  if (!plan?.stripeLookupKey) throw new TRPCError({ code: "BAD_REQUEST", message: `${input.plan} is not for sale` });
  const current = await ctx.db((tx) =>
    tx
      .selectFrom("subscriptions")
      .select(["status", "plan", "stripe_customer_id", "stripe_subscription_id"])
      .executeTakeFirst(),
  );
  if (current?.stripe_subscription_id && LIVE_STRIPE_STATUSES.includes(current.status)) {
    throw new TRPCError({
      code: "CONFLICT",
      message: `this business already has the ${plans[current.plan as keyof typeof plans]?.name ?? current.plan} plan: change plan in Manage billing`,
    });
  }
  const price = (await billing.pricesByLookupKey([plan.stripeLookupKey])).get(plan.stripeLookupKey);
  if (!price) {
    throw new TRPCError({
      code: "PRECONDITION_FAILED",
      message: `Stripe has no active price with lookup key ${plan.stripeLookupKey}: create it in Stripe`,
    });
  }
  let customerId = current?.stripe_customer_id ?? null;
  if (!customerId) {
    const organization = await ctx.db((tx) => tx.selectFrom("organizations").select("name").executeTakeFirst());
    const created = await billing.createCustomer({ id: ctx.orgId, name: organization?.name ?? "" });
    // Concurrent first requests converge on the customer linked first.
    customerId = await ctx.db(async (tx) => {
      const { rows } = await sql<{ linked: string }>`select app.link_stripe_customer(${created}) as linked`.execute(tx);
      return rows[0]?.linked ?? created;
    });
  }
  const url = await billing.checkoutUrl({
    customerId,
    priceId: price.priceId,
    organizationId: ctx.orgId,
    successUrl: `${ctx.dashboardUrl}/billing?checkout=success&session={CHECKOUT_SESSION_ID}`,
    cancelUrl: `${ctx.dashboardUrl}/billing?checkout=canceled`,
  });
  return { url };
}
