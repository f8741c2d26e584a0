import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import { callsRouter } from "./router/calls.ts";
import { contactsRouter } from "./router/contacts.ts";
import { liveRouter } from "./router/live.ts";
import { messagesRouter } from "./router/messages.ts";
import { phoneNumbersRouter } from "./router/phone-numbers.ts";
import { repliesRouter } from "./router/replies.ts";
import { settingsRouter } from "./router/settings.ts";
import { statsRouter } from "./router/stats.ts";
import { statsTrendsRouter } from "./router/stats-trends.ts";
import { templatesRouter } from "./router/templates.ts";
import { router } from "./trpc.ts";

export const appRouter = router({
  calls: callsRouter,
  messages: messagesRouter,
  templates: templatesRouter,
  contacts: contactsRouter,
  phoneNumbers: phoneNumbersRouter,
  settings: settingsRouter,
  stats: { ...statsRouter, ...statsTrendsRouter },
  replies: repliesRouter,
  live: liveRouter,
});

export type AppRouter = typeof appRouter;
/** Each procedure's input and output, for typed clients. */
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
