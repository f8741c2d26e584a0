// contacts: the business's callers and their consent. Any member may opt a caller out or
// back in with a reason (staff answer the phone); the ledger says who, through what, when.
import type { TRPCRouterRecord } from "@trpc/server";
import { uuidInput } from "../../pagination.ts";
import { orgProcedure } from "../../trpc.ts";
import { recordConsent } from "./consent-change.handler.ts";
import { consentChangeInput } from "./consent-change.schema.ts";
import { getContact } from "./get.handler.ts";
import { listContacts } from "./list.handler.ts";
import { contactsListInput } from "./list.schema.ts";

export const contactsRouter = {
  list: orgProcedure.input(contactsListInput).query(listContacts),
  get: orgProcedure.input(uuidInput).query(getContact),
  optOut: orgProcedure.input(consentChangeInput).mutation(({ ctx, input }) => recordConsent(ctx, input, "opt_out")),
  optIn: orgProcedure.input(consentChangeInput).mutation(({ ctx, input }) => recordConsent(ctx, input, "opt_in")),
} satisfies TRPCRouterRecord;
