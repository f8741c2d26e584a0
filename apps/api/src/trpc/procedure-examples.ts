// Every procedure of the router with one valid input each, built from an org's fixture
// ids: what the generated procedure tests and the stack fuzzer start from. A procedure
// without an example fails procedures.test.ts.
import type { FixtureIds } from "@callflow/db/testing";
import { appRouter } from "./root.ts";
import type { ProcedureMeta } from "./trpc.ts";

type Example = (ids: FixtureIds) => unknown;

/** One valid input per procedure, built from an org's fixture ids. */
export const EXAMPLES: Record<string, Example> = {
  "calls.list": () => ({ limit: 10 }),
  "calls.get": (ids) => ({ id: ids.call }),
  "messages.list": () => ({}),
  "messages.get": (ids) => ({ id: ids.message }),
  "templates.list": () => ({}),
  "templates.get": (ids) => ({ id: ids.template }),
  "templates.create": () => ({
    name: "Voicemail",
    trigger: "voicemail",
    smsBody: "Thanks for your message, {{caller_name}}.",
  }),
  "templates.update": (ids) => ({ id: ids.template, name: "Renamed" }),
  "templates.archive": (ids) => ({ id: ids.template }),
  "templates.preview": (ids) => ({ id: ids.template }),
  "contacts.list": () => ({}),
  "contacts.get": (ids) => ({ id: ids.contact }),
  "contacts.optOut": (ids) => ({ id: ids.contact, reason: "asked on the phone" }),
  "contacts.optIn": (ids) => ({ id: ids.contact, reason: "asked again by email" }),
  "phoneNumbers.list": () => undefined,
  "phoneNumbers.add": () => ({ e164: "+15125550177", label: "Second line" }),
  "phoneNumbers.remove": (ids) => ({ id: ids.phoneNumber }),
  "settings.get": () => undefined,
  "settings.update": () => ({ cooldown_seconds: 3600 }),
  "stats.overview": () => ({}),
  "stats.outcomes": () => ({}),
  "stats.daily": () => ({}),
  "replies.list": () => ({}),
  "replies.forCall": (ids) => ({ id: ids.call }),
  "replies.unreadCount": () => undefined,
  "replies.markRead": () => ({ all: true }),
  "live.changes": () => undefined,
  "billing.status": () => undefined,
  "billing.createCheckoutSession": () => ({ plan: "starter" }),
  "billing.createPortalSession": () => undefined,
};

export const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, unknown>).map(
  ([path, procedure]) => {
    const def = (procedure as { _def: { type: "query" | "mutation"; meta?: ProcedureMeta; inputs: unknown[] } })._def;
    return { path, type: def.type, access: def.meta?.access ?? "public", takesInput: def.inputs.length > 0 };
  },
);
