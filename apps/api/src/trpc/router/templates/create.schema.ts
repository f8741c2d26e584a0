import { z } from "zod";
import { templateFields } from "./template-fields.ts";

export const templatesCreateInput = z.object({
  ...templateFields,
  language: templateFields.language.default("en"),
  whatsappContentSid: templateFields.whatsappContentSid.default(null),
  whatsappCategory: templateFields.whatsappCategory.default("utility"),
  whatsappVariables: templateFields.whatsappVariables.default({}),
  active: templateFields.active.default(true),
});

export type TemplatesCreateInput = z.infer<typeof templatesCreateInput>;
