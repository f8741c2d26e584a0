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
  /** Trace runs and steps (tracing-middleware.ts): when the process registered a tracer provider. */
  tracing?: boolean;
}

/**
 * One client per process; the composition root says where events go, and whether runs are
 * traced. Without tracing no middleware is added: the SDK runs exactly as it would bare.
 */
export function createInngestClient(settings: InngestSettings = {}) {
  return new Inngest({
    id: "callflow",
    ...(settings.tracing ? { middleware: [TracingMiddleware] } : {}),
    ...(settings.eventKey ? { eventKey: settings.eventKey } : {}),
    ...(settings.signingKey ? { signingKey: settings.signingKey } : {}),
    ...(settings.signingKeyFallback ? { signingKeyFallback: settings.signingKeyFallback } : {}),
    ...(settings.baseUrl ? { baseUrl: settings.baseUrl } : {}),
    ...(settings.isDev === undefined ? {} : { isDev: settings.isDev }),
    ...(settings.logger ? { logger: settings.logger } : {}),
  });
}

export type CallflowInngest = ReturnType<typeof createInngestClient>;
