import { z } from "zod";

/** Either some replies by id (read, or unread again) or every unread reply at once. One
 * object rather than a union, so a bad input names its field instead of "invalid input". */
export const repliesMarkReadInput = z
  .object({
    ids: z.array(z.uuid()).min(1).max(100).optional(),
    all: z.literal(true).optional(),
    read: z.boolean().default(true),
  })
  .refine((input) => (input.ids === undefined) !== (input.all === undefined), {
    message: "give either ids or all: true",
    path: ["ids"],
  });

export type RepliesMarkReadInput = z.infer<typeof repliesMarkReadInput>;
