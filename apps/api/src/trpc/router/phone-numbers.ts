import { e164Schema } from "@callflow/domain";
import { TRPCError, type TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { uuidInput } from "../pagination.ts";
import { adminProcedure, notFound, orgProcedure } from "../trpc.ts";

export const phoneNumbersAddInput = z.object({
  e164: e164Schema,
  label: z.string().trim().max(100).default(""),
});

/**
 * The same answer for a number CallFlow's Twilio account does not own and for one another
 * business has connected: nothing here tells one tenant about another's numbers.
 */
const notAvailable = (e164: string) =>
  new TRPCError({
    code: "BAD_REQUEST",
    message: `${e164} is not a CallFlow number you can connect: connect a number bought through CallFlow or ported to its Twilio account`,
  });

export const phoneNumbersRouter = {
  list: orgProcedure.query(({ ctx }) =>
    ctx.db((tx) =>
      tx.selectFrom("phone_numbers").selectAll().orderBy("created_at").orderBy("e164").limit(100).execute(),
    ),
  ),

  /** Connects one of CallFlow's Twilio numbers to the business; Twilio is asked outside the transaction. */
  add: adminProcedure.input(phoneNumbersAddInput).mutation(async ({ ctx, input }) => {
    const mine = await ctx.db((tx) =>
      tx.selectFrom("phone_numbers").select("id").where("e164", "=", input.e164).executeTakeFirst(),
    );
    if (mine) throw new TRPCError({ code: "CONFLICT", message: `${input.e164} is already connected to this business` });
    if (!ctx.phoneNumberDirectory) {
      throw new TRPCError({
        code: "PRECONDITION_FAILED",
        message: "numbers cannot be connected: Twilio is not configured",
      });
    }
    const owned = await ctx.phoneNumberDirectory.findOwned(input.e164).catch((error: unknown) => {
      ctx.log.warn("Twilio number lookup failed", { error: (error as Error).message });
      throw new TRPCError({ code: "BAD_GATEWAY", message: "Twilio could not be asked about this number; try again" });
    });
    if (!owned) throw notAvailable(input.e164);
    // Its calls come to CallFlow before the business sees it connected. The URLs are the same
    // for every business, so a number another business took meanwhile is left as it was.
    await ctx.phoneNumberDirectory.connect(owned).catch((error: unknown) => {
      ctx.log.warn("Twilio number configuration failed", { error: (error as Error).message });
      throw new TRPCError({
        code: "BAD_GATEWAY",
        message: "Twilio could not point this number at CallFlow; try again",
      });
    });
    return ctx
      .db((tx) =>
        tx
          .insertInto("phone_numbers")
          .values({ organization_id: ctx.orgId, e164: input.e164, label: input.label })
          .returningAll()
          .executeTakeFirstOrThrow(),
      )
      .catch((error: { code?: unknown }) => {
        if (error.code === "23505") throw notAvailable(input.e164);
        throw error;
      });
  }),
  /**
   * Disconnects a number: removed here first, then its Voice URL and status callback are
   * cleared at Twilio so its calls no longer reach CallFlow. Twilio failing to clear them does
   * not keep the number connected: a call that still arrives finds no business and is ended.
   */
  remove: adminProcedure.input(uuidInput).mutation(async ({ ctx, input }) => {
    const removed = await ctx.db((tx) =>
      tx.deleteFrom("phone_numbers").where("id", "=", input.id).returning(["id", "e164"]).executeTakeFirst(),
    );
    if (!removed) throw notFound("phone number");
    const directory = ctx.phoneNumberDirectory;
    if (directory) {
      try {
        const owned = await directory.findOwned(removed.e164);
        if (owned) await directory.disconnect(owned);
      } catch (error) {
        ctx.log.warn("Twilio number could not be disconnected", {
          e164: removed.e164,
          error: (error as Error).message,
        });
      }
    }
    return { id: removed.id };
  }),
} satisfies TRPCRouterRecord;
