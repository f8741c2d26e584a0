import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import { billingRouter } from "./router/billing/_router.ts";
import { callsRouter } from "./router/calls.ts";
import { contactsRouter } from "./router/contacts/_router.ts";
import { liveRouter } from "./router/live.ts";
import { messagesRouter } from "./router/messages.ts";
import { phoneNumbersRouter } from "./router/phone-numbers.ts";
import { repliesRouter } from "./router/replies/_router.ts";
import { settingsRouter } from "./router/settings.ts";
import { statsRouter } from "./router/stats/_router.ts";
import { templatesRouter } from "./router/templates/_router.ts";
import { router } from "./trpc.ts";

export const appRouter = router({
  calls: callsRouter,
  messages: messagesRouter,
  templates: templatesRouter,
  contacts: contactsRouter,
  phoneNumbers: phoneNumbersRouter,
  settings: settingsRouter,
  stats: statsRouter,
  replies: repliesRouter,
  live: liveRouter,
  billing: billingRouter,
});

export type AppRouter = typeof appRouter;
/** Each procedure's input and output, for typed clients. */
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
