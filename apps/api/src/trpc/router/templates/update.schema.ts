import { z } from "zod";
import { templateFields } from "./template-fields.ts";

export const templatesUpdateInput = z
  .object({ id: z.uuid(), ...z.object(templateFields).partial().shape })
  .refine((input) => Object.keys(input).length > 1, { message: "give at least one field to change" });

export type TemplatesUpdateInput = z.infer<typeof templatesUpdateInput>;
