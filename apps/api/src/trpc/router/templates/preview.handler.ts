import { countSmsSegments, renderTemplate, sampleVariables, templatePlaceholders } from "@callflow/domain";
import { TRPCError } from "@trpc/server";
import { notFound, type OrgContext } from "../../trpc.ts";
import type { TemplatesPreviewInput } from "./preview.schema.ts";

/** Renders with sample values; says how many SMS segments the body costs. */
export const previewTemplate = ({ ctx, input }: { ctx: OrgContext; input: TemplatesPreviewInput }) =>
  ctx.db(async (tx) => {
    let smsBody: string;
    let whatsappVariables: Record<string, string>;
    if ("id" in input) {
      const template = await tx
        .selectFrom("templates")
        .select(["sms_body", "whatsapp_variables"])
        .where("id", "=", input.id)
        .executeTakeFirst();
      if (!template) throw notFound("template");
      smsBody = template.sms_body;
      whatsappVariables = template.whatsapp_variables as Record<string, string>;
    } else {
      smsBody = input.smsBody;
      whatsappVariables = input.whatsappVariables ?? {};
    }
    const organization = await tx.selectFrom("organizations").select("name").executeTakeFirst();
    const variables = { ...sampleVariables, business_name: organization?.name || sampleVariables.business_name };
    const sms = renderTemplate(smsBody, variables);
    if (!sms.ok) throw new TRPCError({ code: "BAD_REQUEST", message: sms.reason });
    const whatsapp: Record<string, string> = {};
    for (const [key, text] of Object.entries(whatsappVariables)) {
      const rendered = renderTemplate(text, variables);
      if (!rendered.ok)
        throw new TRPCError({ code: "BAD_REQUEST", message: `WhatsApp variable ${key}: ${rendered.reason}` });
      whatsapp[key] = rendered.text;
    }
    return {
      sms: { text: sms.text, ...countSmsSegments(sms.text) },
      whatsappVariables: whatsapp,
      placeholders: templatePlaceholders(smsBody),
    };
  });
