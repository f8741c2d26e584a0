import { paidPlans } from "@callflow/domain";
import { z } from "zod";

export const billingCheckoutInput = z.object({
  plan: z.enum(paidPlans.map((plan) => plan.id) as [string, ...string[]], {
    error: `plan is one of ${paidPlans.map((plan) => plan.id).join(", ")}`,
  }),
});

export type BillingCheckoutInput = z.infer<typeof billingCheckoutInput>;
