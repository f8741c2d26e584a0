import { Inngest, type Logger } from "inngest";
import { TracingMiddleware } from "./tracing-middleware.ts";

export interface InngestSettings {
  /** Inngest Cloud: the event key (sending) and signing key (serving). */
  eventKey?: string;
  signingKey?: string;
  /** The previous signing key, accepted while the current one is being rotated. */
  signingKeyFallback?: string;
  /** The Inngest dev server or CallFlow's local executor. */
  baseUrl?: string;
  isDev?: boolean;
  /** Where the SDK's own messages go (by default, the console). */
  logger?: Logger;
}

/**
 * One client per process; the composition root says where events go. Runs are traced
 * (tracing-middleware.ts) into whatever tracer provider the process registered: none, no cost.
 */
export function createInngestClient(settings: InngestSettings = {}) {
  return new Inngest({
    id: "callflow",
    middleware: [TracingMiddleware],
    ...(settings.eventKey ? { eventKey: settings.eventKey } : {}),
    ...(settings.signingKey ? { signingKey: settings.signingKey } : {}),
    ...(settings.signingKeyFallback ? { signingKeyFallback: settings.signingKeyFallback } : {}),
    ...(settings.baseUrl ? { baseUrl: settings.baseUrl } : {}),
    ...(settings.isDev === undefined ? {} : { isDev: settings.isDev }),
    ...(settings.logger ? { logger: settings.logger } : {}),
  });
}

export type CallflowInngest = ReturnType<typeof createInngestClient>;
