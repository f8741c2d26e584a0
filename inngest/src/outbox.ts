// The transactional outbox: an event a webhook causes is written in the webhook's own
// transaction (app.event_outbox), so it is exactly as durable as the rows it is about, and
// a relay sends it to Inngest after the commit, in batches. A send that fails, or a process
// that dies between commit and send, leaves the event unsent: the relay's sweep sends it
// later. Event ids are the providers' ids: a repeat adds no row, and Inngest runs an id once.
import type { Database, Tx } from "@callflow/db";
import { sql } from "kysely";
import type { CallflowInngest } from "./client.ts";
import { eventWithTraceContext } from "./trace-context.ts";

/** An event as the typed definitions in events.ts create it. */
export interface OutboxEvent {
  name: string;
  id: string;
  data: Record<string, unknown>;
}

/**
 * Writes the events in the caller's transaction; an id already written is skipped. Each
 * carries the active span's trace context (trace-context.ts), so its run continues the trace.
 */
export async function enqueueEvents(tx: Tx, events: readonly OutboxEvent[]): Promise<void> {
  if (events.length === 0) return;
  const rows = events
    .map((event) => eventWithTraceContext(event))
    .map((event) => sql`(${event.id}, ${event.name}, ${JSON.stringify(event.data)}::jsonb)`);
  await sql`insert into app.event_outbox (event_id, name, data)
            values ${sql.join(rows)}
            on conflict (event_id) do nothing`.execute(tx);
}

export interface OutboxRelayOptions {
  database: Database;
  send: (events: OutboxEvent[]) => Promise<void>;
  /** Unsent events are looked for this often (after restarts, failed sends). Default 5 s. */
  sweepMs?: number;
  /** Events per send. Default 100 (Inngest accepts batches). */
  batchSize?: number;
  /** How long a relay may hold events it took before another takes them. Default 30 s. */
  claimMs?: number;
  onError?: (error: Error) => void;
}

export interface OutboxRelay {
  /** Sends what is waiting now (called after a webhook's commit); the sweep catches the rest. */
  wake(): void;
  /** Resolves once nothing is waiting to be sent, or a send just failed. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

type Claimed = { id: number; event_id: string; name: string; data: Record<string, unknown> };

export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const batchSize = options.batchSize ?? 100;
  const claimMs = options.claimMs ?? 30_000;
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;

  /**
   * Marks the batch just sent and takes the next in one statement (app.relay_outbox): no
   * transaction is held while sending (in local mode the executor that receives the events
   * shares the database), and several relays (API processes) take different rows.
   */
  async function markAndClaim(sent: number[], limit: number): Promise<Claimed[]> {
    const claimed = await options.database.callServiceFunction<Claimed>("app.relay_outbox", [sent, limit, claimMs]);
    // UPDATE … RETURNING has no order: events go out in the order they were written.
    return claimed.sort((a, b) => a.id - b.id);
  }

  /** Sends a claimed batch; one Inngest did not take is released with the reason, for the next try. */
  async function send(claimed: Claimed[]): Promise<void> {
    try {
      await options.send(claimed.map((row) => ({ name: row.name, id: row.event_id, data: row.data })));
    } catch (error) {
      const message = (error as Error).message.slice(0, 500);
      const ids = claimed.map((row) => row.id);
      await options.database.withService((tx) =>
        sql`update app.event_outbox set claimed_until = null, last_error = ${message}
             where id = any(${ids}::bigint[])`.execute(tx),
      );
      throw error;
    }
  }

  /** Batch after batch until none is left; the last call only marks what was sent. */
  async function sendAll(): Promise<void> {
    do {
      again = false;
      let sent: number[] = [];
      try {
        for (;;) {
          const claimed = await markAndClaim(sent, stopped ? 0 : batchSize);
          sent = [];
          if (claimed.length === 0) break;
          await send(claimed);
          sent = claimed.map((row) => row.id);
        }
      } catch (error) {
        options.onError?.(error as Error);
        return;
      }
    } while (again && !stopped);
  }

  const wake = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = sendAll().finally(() => {
      running = null;
    });
  };

  const sweep = setInterval(wake, options.sweepMs ?? 5_000);
  sweep.unref();
  wake();
  return {
    wake,
    async drain() {
      wake();
      while (running) await running;
    },
    async stop() {
      stopped = true;
      clearInterval(sweep);
      await running;
    },
  };
}

/** The relay's sender for an Inngest client: one request per batch. */
export const sendWith =
  (client: CallflowInngest) =>
  async (events: OutboxEvent[]): Promise<void> => {
    await client.send(events);
  };
