import { z } from "zod";
import { templateFields } from "./template-fields.ts";

/** A stored template by id, or text being written (not yet checked: the preview explains). */
export const templatesPreviewInput = z.union([
  z.object({ id: z.uuid() }),
  z.object({ smsBody: z.string().max(1600), whatsappVariables: templateFields.whatsappVariables.optional() }),
]);

export type TemplatesPreviewInput = z.infer<typeof templatesPreviewInput>;
