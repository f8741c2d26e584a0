// Stripe's idempotent requests: a POST with an `Idempotency-Key` saves its status and body;
// the same key again returns them unchanged (with `Idempotent-Replayed: true`), so the SDK's
// retries and callers' own keys create one object. The same key on another endpoint or with
// other parameters is refused. Keys live 24 hours, also across a restart when the sandbox
// keeps its account in a state file.

import type { FormValue } from "./stripe-form.ts";
import { StripeApiError } from "./stripe-sandbox-errors.ts";

export interface SavedResponse {
  status: number;
  body: string;
}

interface Entry {
  endpoint: string;
  fingerprint: string;
  response: SavedResponse;
  expiresAt: number;
}

/** A key as the state file keeps it. */
export interface SavedIdempotencyKey {
  key: string;
  endpoint: string;
  fingerprint: string;
  response: SavedResponse;
  /** ISO 8601, on the sandbox's clock. */
  expiresAt: string;
}

const KEY_LIFETIME_MS = 24 * 60 * 60 * 1000;
const MAX_KEY_LENGTH = 255;

export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: () => Date,
    /** Oldest keys are forgotten first beyond this many. */
    private readonly maxEntries = 10_000,
    saved: readonly SavedIdempotencyKey[] = [],
  ) {
    const now = clock().getTime();
    for (const { key, expiresAt, ...entry } of saved) {
      const expires = Date.parse(expiresAt);
      if (expires > now) this.entries.set(key, { ...entry, expiresAt: expires });
    }
  }

  /** The keys still alive, oldest first, for the state file. */
  snapshot(): SavedIdempotencyKey[] {
    const now = this.clock().getTime();
    const alive: SavedIdempotencyKey[] = [];
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) alive.push({ key, ...entry, expiresAt: new Date(entry.expiresAt).toISOString() });
    }
    return alive;
  }

  /** The saved response to replay, or null to run the request. Throws when the key may not be used here. */
  replay(key: string, endpoint: string, params: { [key: string]: FormValue }): SavedResponse | null {
    if (key.length > MAX_KEY_LENGTH) {
      throw new StripeApiError(
        400,
        {
          type: "invalid_request_error",
          message: `Idempotency-Key is too long: it may have at most ${MAX_KEY_LENGTH} characters.`,
        },
        false,
      );
    }
    const entry = this.entries.get(key);
    if (!entry || entry.expiresAt <= this.clock().getTime()) return null;
    if (entry.endpoint !== endpoint) {
      throw idempotencyError(
        `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${entry.endpoint}' vs '${endpoint}'). Try using a key other than '${key}' if you meant to execute a different request.`,
      );
    }
    if (entry.fingerprint !== fingerprint(params)) {
      throw idempotencyError(
        `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
      );
    }
    return entry.response;
  }

  save(key: string, endpoint: string, params: { [key: string]: FormValue }, response: SavedResponse) {
    const now = this.clock().getTime();
    this.entries.delete(key);
    this.entries.set(key, { endpoint, fingerprint: fingerprint(params), response, expiresAt: now + KEY_LIFETIME_MS });
    for (const [oldKey, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && entry.expiresAt > now) break;
      this.entries.delete(oldKey);
    }
  }
}

function idempotencyError(message: string) {
  return new StripeApiError(400, { type: "idempotency_error", message }, false);
}

/** The parameters in a canonical form: the same values in any order compare equal. */
function fingerprint(value: FormValue): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(fingerprint).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${fingerprint(value[key] as FormValue)}`).join(",")}}`;
}
