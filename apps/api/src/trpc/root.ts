import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import { callsRouter } from "./router/calls.ts";
import { contactsRouter } from "./router/contacts.ts";
import { messagesRouter } from "./router/messages.ts";
import { phoneNumbersRouter } from "./router/phone-numbers.ts";
import { settingsRouter } from "./router/settings.ts";
import { statsRouter } from "./router/stats.ts";
import { templatesRouter } from "./router/templates.ts";
import { router } from "./trpc.ts";

export const appRouter = router({
  calls: callsRouter,
  messages: messagesRouter,
  templates: templatesRouter,
  contacts: contactsRouter,
  phoneNumbers: phoneNumbersRouter,
  settings: settingsRouter,
  stats: statsRouter,
});

export type AppRouter = typeof appRouter;
/** Each procedure's input and output, for typed clients. */
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
