import { settingsUpdateSchema } from "@callflow/domain";
import type { TRPCRouterRecord } from "@trpc/server";
import { adminProcedure, notFound, orgProcedure } from "../trpc.ts";

const SETTINGS_COLUMNS = [
  "id",
  "name",
  "timezone",
  "business_hours",
  "quiet_hours",
  "fallback_window_seconds",
  "cooldown_seconds",
  "consent_policy",
  "trigger_outcomes",
  "answered_min_seconds",
  "help_text",
  "whatsapp_sender",
  "forward_to",
  "forward_timeout_seconds",
  "voicemail_enabled",
  "voicemail_greeting",
  "voice_language",
  "updated_at",
] as const;

export const settingsRouter = {
  get: orgProcedure.query(({ ctx }) =>
    ctx.db(async (tx) => {
      const organization = await tx.selectFrom("organizations").select(SETTINGS_COLUMNS).executeTakeFirst();
      if (!organization) throw notFound("organization");
      return organization;
    }),
  ),

  update: adminProcedure.input(settingsUpdateSchema).mutation(({ ctx, input }) =>
    ctx.db(async (tx) => {
      const { business_hours, quiet_hours, ...scalars } = input;
      const organization = await tx
        .updateTable("organizations")
        .set({
          ...scalars,
          ...(business_hours === undefined ? {} : { business_hours: JSON.stringify(business_hours) }),
          ...(quiet_hours === undefined
            ? {}
            : { quiet_hours: quiet_hours === null ? null : JSON.stringify(quiet_hours) }),
        })
        .where("id", "=", ctx.orgId)
        .returning(SETTINGS_COLUMNS)
        .executeTakeFirst();
      if (!organization) throw notFound("organization");
      return organization;
    }),
  ),
} satisfies TRPCRouterRecord;
