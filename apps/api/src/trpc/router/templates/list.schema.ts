import { z } from "zod";
import { pageInput } from "../../pagination.ts";
import { templateFields } from "./template-fields.ts";

export const templatesListInput = pageInput.extend({
  trigger: templateFields.trigger.optional(),
  includeArchived: z.boolean().default(false),
});

export type TemplatesListInput = z.infer<typeof templatesListInput>;
