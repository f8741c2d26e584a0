import { z } from "zod";
import { pageInput } from "../../pagination.ts";

export const repliesListInput = pageInput.extend({
  unreadOnly: z.boolean().default(false),
});

export type RepliesListInput = z.infer<typeof repliesListInput>;
