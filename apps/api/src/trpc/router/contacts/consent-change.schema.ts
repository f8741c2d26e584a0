import { z } from "zod";

/** Staff change a caller's consent only with a reason; the ledger records who and why. */
export const consentChangeInput = z.object({
  id: z.uuid(),
  reason: z.string().trim().min(3, "say why, in a few words").max(500),
});

export type ConsentChangeInput = z.infer<typeof consentChangeInput>;
