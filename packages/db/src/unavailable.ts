// Whether a failed query failed because the database could not be reached, rather than
// because of what was asked: then the request may succeed as it is a little later, so a
// webhook answers 503 (its provider retries) and the dashboard says "try again".

/** Socket errors from connecting to or talking with the server. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/**
 * SQLSTATEs of a server that cannot serve now: class 08 (connection exception), 53300
 * (too many connections), 57P01–57P03 (shut down or starting up).
 */
const UNAVAILABLE_STATES = /^(08[0-9A-Z]{3}|53300|57P0[1-3])$/;

/** node-postgres's own words for a connection that failed or was cut (it sets no code). */
const DRIVER_MESSAGES = [
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "Client has encountered a connection error",
];

export function isDatabaseUnavailable(error: unknown): boolean {
  for (let cause = error, depth = 0; cause && depth < 5; depth++) {
    const { code, message } = cause as { code?: unknown; message?: unknown };
    if (typeof code === "string" && (NETWORK_CODES.has(code) || UNAVAILABLE_STATES.test(code))) return true;
    if (typeof message === "string" && DRIVER_MESSAGES.some((known) => message.startsWith(known))) return true;
    // An AggregateError (several addresses tried) or a wrapped cause.
    const inner = cause as { errors?: unknown[]; cause?: unknown };
    if (Array.isArray(inner.errors) && inner.errors.some(isDatabaseUnavailable)) return true;
    cause = inner.cause;
  }
  return false;
}
