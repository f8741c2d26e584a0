import { type ClientOptions, Inngest, type Logger } from "inngest";
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
 * The SDK copies the process's environment whenever it builds its headers (every event sent,
 * every checkpoint and every answer of a served call) and again when a served call hands the
 * client that environment (inngest-js helpers/env.ts getProcessEnv, Inngest.headers,
 * setEnvVars): a profile of the local product put that at 8–9% of its CPU. CallFlow's settings
 * are read once (env.ts) and given as options, so this client takes the environment once, at
 * construction, and builds its headers from it once.
 */
class SettledEnvironmentInngest<const TClientOpts extends ClientOptions> extends Inngest<TClientOpts> {
  #headers: Record<string, string> | undefined;

  override get headers(): Record<string, string> {
    this.#headers ??= super.headers;
    return { ...this.#headers };
  }

  /** The environment a served call hands over is the one read at construction (see above). */
  override setEnvVars(): this {
    return this;
  }
}

/**
 * One client per process; the composition root says where events go, and whether runs are
 * traced. Without tracing no middleware is added: the SDK runs exactly as it would bare.
 */
export function createInngestClient(settings: InngestSettings = {}) {
  return new SettledEnvironmentInngest({
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
