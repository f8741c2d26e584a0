// billing: the business's plan, usage and Stripe. Members see it; admins open Checkout and
// the Customer Portal. Plans are defined in packages/domain; Stripe is asked for prices by
// lookup key, and its webhooks (sync-subscription) decide what the subscription is.
import type { TRPCRouterRecord } from "@trpc/server";
import { adminProcedure, orgProcedure } from "../../trpc.ts";
import { createCheckoutSession } from "./checkout.handler.ts";
import { billingCheckoutInput } from "./checkout.schema.ts";
import { createPortalSession } from "./portal.handler.ts";
import { billingStatus } from "./status.handler.ts";

export const billingRouter = {
  status: orgProcedure.query(billingStatus),
  createCheckoutSession: adminProcedure.input(billingCheckoutInput).mutation(createCheckoutSession),
  createPortalSession: adminProcedure.mutation(createPortalSession),
} satisfies TRPCRouterRecord;
