import { z } from "zod";

export const repliesMarkReadInput = z.union([
  z.object({ ids: z.array(z.uuid()).min(1).max(100), read: z.boolean().default(true) }),
  z.object({ all: z.literal(true) }),
]);

export type RepliesMarkReadInput = z.infer<typeof repliesMarkReadInput>;
