// What a template is made of, as clients send it, and how it maps to its columns.
import { renderTemplate, sampleVariables, whatsappCategorySchema } from "@callflow/domain";
import { z } from "zod";

/**
 * Text with {{placeholders}}: every placeholder must be one CallFlow can fill. Too long
 * stops validation there: the placeholder check never runs on oversized text.
 */
export const templateText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max, { abort: true })
    .superRefine((text, ctx) => {
      const rendered = renderTemplate(text, sampleVariables);
      if (!rendered.ok) ctx.addIssue({ code: "custom", message: rendered.reason });
    });

export const templateFields = {
  name: z.string().trim().min(1).max(100),
  trigger: z.enum(["missed", "answered", "voicemail", "after_hours"]),
  language: z.string().regex(/^[a-z]{2,3}(-[A-Z]{2})?$/, "language is a code such as en, es or pt-BR"),
  whatsappContentSid: z
    .string()
    .regex(/^HX[0-9a-f]{32}$/, "a WhatsApp Content SID is HX followed by 32 hex digits")
    .nullable(),
  /** The category Meta approved the Content template in: marketing ones are not sent on WhatsApp to +1 numbers. */
  whatsappCategory: whatsappCategorySchema,
  whatsappVariables: z.record(
    z.string().regex(/^[1-9][0-9]*$/, "Content variable keys are 1, 2, 3…"),
    templateText(1024),
  ),
  smsBody: templateText(1600),
  active: z.boolean(),
};

type TemplateFields = { [K in keyof typeof templateFields]: z.infer<(typeof templateFields)[K]> };

export const columnsOf = (input: Partial<TemplateFields>) => ({
  name: input.name,
  trigger: input.trigger,
  language: input.language,
  whatsapp_content_sid: input.whatsappContentSid,
  whatsapp_category: input.whatsappCategory,
  whatsapp_variables: input.whatsappVariables === undefined ? undefined : JSON.stringify(input.whatsappVariables),
  sms_body: input.smsBody,
  active: input.active,
});
