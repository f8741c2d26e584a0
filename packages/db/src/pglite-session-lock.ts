// PGlite is one Postgres session. Whoever holds this lock has that session to itself: the
// Kysely driver for one transaction (or one statement), a socket client for one transaction.
import type { PGlite } from "@electric-sql/pglite";

export type ReleaseSession = () => void;

export class SessionLock {
  #held = false;
  // First come, first served: a socket client between two transactions queues behind the API.
  readonly #waiters: Array<() => void> = [];

  /** Resolves once the session is the caller's; an aborted wait rejects with the signal's reason and holds nothing. */
  acquire(signal?: AbortSignal): Promise<ReleaseSession> {
    signal?.throwIfAborted();
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve(this.#releaser());
    }
    return new Promise<ReleaseSession>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve(this.#releaser());
      };
      const onAbort = () => {
        const index = this.#waiters.indexOf(grant);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(grant);
    });
  }

  #releaser(): ReleaseSession {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next();
      else this.#held = false;
    };
  }
}

const locks = new WeakMap<PGlite, SessionLock>();

/** The one lock of this PGlite instance's session, shared by everything that uses the instance. */
export function sessionLockOf(pglite: PGlite): SessionLock {
  let lock = locks.get(pglite);
  if (!lock) {
    lock = new SessionLock();
    locks.set(pglite, lock);
  }
  return lock;
}
