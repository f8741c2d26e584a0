import { countSmsSegments, renderTemplate, sampleVariables, templatePlaceholders } from "@callflow/domain";
import { TRPCError, type TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { cursorAt, olderThan, page, pageInput, uuidInput } from "../pagination.ts";
import { adminProcedure, notFound, orgProcedure } from "../trpc.ts";

/**
 * Text with {{placeholders}}: every placeholder must be one CallFlow can fill. Too long
 * stops validation there: the placeholder check never runs on oversized text.
 */
const templateText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max, { abort: true })
    .superRefine((text, ctx) => {
      const rendered = renderTemplate(text, sampleVariables);
      if (!rendered.ok) ctx.addIssue({ code: "custom", message: rendered.reason });
    });

const templateFields = {
  name: z.string().trim().min(1).max(100),
  trigger: z.enum(["missed", "answered", "voicemail", "after_hours"]),
  language: z.string().regex(/^[a-z]{2,3}(-[A-Z]{2})?$/, "language is a code such as en, es or pt-BR"),
  whatsappContentSid: z
    .string()
    .regex(/^HX[0-9a-f]{32}$/, "a WhatsApp Content SID is HX followed by 32 hex digits")
    .nullable(),
  whatsappVariables: z.record(
    z.string().regex(/^[1-9][0-9]*$/, "Content variable keys are 1, 2, 3…"),
    templateText(1024),
  ),
  smsBody: templateText(1600),
  active: z.boolean(),
};

export const templatesCreateInput = z.object({
  ...templateFields,
  language: templateFields.language.default("en"),
  whatsappContentSid: templateFields.whatsappContentSid.default(null),
  whatsappVariables: templateFields.whatsappVariables.default({}),
  active: templateFields.active.default(true),
});

export const templatesUpdateInput = z
  .object({ id: z.uuid(), ...z.object(templateFields).partial().shape })
  .refine((input) => Object.keys(input).length > 1, { message: "give at least one field to change" });

export const templatesListInput = pageInput.extend({
  trigger: templateFields.trigger.optional(),
  includeArchived: z.boolean().default(false),
});

export const templatesPreviewInput = z.union([
  z.object({ id: z.uuid() }),
  z.object({ smsBody: z.string().max(1600), whatsappVariables: templateFields.whatsappVariables.optional() }),
]);

const columnsOf = (input: Partial<z.infer<typeof templatesCreateInput>>) => ({
  name: input.name,
  trigger: input.trigger,
  language: input.language,
  whatsapp_content_sid: input.whatsappContentSid,
  whatsapp_variables: input.whatsappVariables === undefined ? undefined : JSON.stringify(input.whatsappVariables),
  sms_body: input.smsBody,
  active: input.active,
});

export const templatesRouter = {
  list: orgProcedure.input(templatesListInput).query(({ ctx, input }) =>
    ctx.db(async (tx) => {
      let query = tx
        .selectFrom("templates")
        .selectAll()
        .select(cursorAt("created_at"))
        .orderBy("created_at", "desc")
        .orderBy("id", "desc")
        .limit(input.limit + 1);
      if (input.cursor) query = query.where(olderThan("created_at", input.cursor));
      if (input.trigger) query = query.where("trigger", "=", input.trigger);
      if (!input.includeArchived) query = query.where("archived_at", "is", null);
      return page(await query.execute(), input.limit);
    }),
  ),

  get: orgProcedure.input(uuidInput).query(({ ctx, input }) =>
    ctx.db(async (tx) => {
      const template = await tx.selectFrom("templates").selectAll().where("id", "=", input.id).executeTakeFirst();
      if (!template) throw notFound("template");
      return template;
    }),
  ),

  create: adminProcedure.input(templatesCreateInput).mutation(({ ctx, input }) =>
    ctx.db((tx) =>
      tx
        .insertInto("templates")
        .values({
          ...columnsOf(input),
          organization_id: ctx.orgId,
          name: input.name,
          trigger: input.trigger,
          sms_body: input.smsBody,
        })
        .returningAll()
        .executeTakeFirstOrThrow(),
    ),
  ),

  update: adminProcedure.input(templatesUpdateInput).mutation(({ ctx, input }) =>
    ctx.db(async (tx) => {
      const { id, ...fields } = input;
      const template = await tx
        .updateTable("templates")
        .set(columnsOf(fields))
        .where("id", "=", id)
        .where("archived_at", "is", null)
        .returningAll()
        .executeTakeFirst();
      if (!template) throw notFound("template");
      return template;
    }),
  ),

  /** Archived templates are never chosen again but stay for the history of past jobs. */
  archive: adminProcedure.input(uuidInput).mutation(({ ctx, input }) =>
    ctx.db(async (tx) => {
      const template = await tx
        .updateTable("templates")
        .set({ archived_at: new Date(), active: false })
        .where("id", "=", input.id)
        .where("archived_at", "is", null)
        .returningAll()
        .executeTakeFirst();
      if (!template) throw notFound("template");
      return template;
    }),
  ),

  /** Renders with sample values; says how many SMS segments the body costs. */
  preview: orgProcedure.input(templatesPreviewInput).query(({ ctx, input }) =>
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
    }),
  ),
} satisfies TRPCRouterRecord;
