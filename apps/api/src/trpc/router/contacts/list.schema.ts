import { z } from "zod";
import { numberSearchInput } from "../../number-search.ts";
import { pageInput } from "../../pagination.ts";

export const contactsListInput = pageInput.extend({
  optedOut: z.boolean().optional(),
  number: numberSearchInput.optional(),
});

export type ContactsListInput = z.infer<typeof contactsListInput>;
