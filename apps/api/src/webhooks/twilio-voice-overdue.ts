// The voice flow's safety net. A final status callback that finds the Dial action or the
// Record action still due does not settle the call: Twilio sends those at about the same
// moment when the caller hangs up, and either may reach CallFlow first. Once the call has
// been over for VOICE_CALLBACK_GRACE_SECONDS, this settles it with what is known (missed
// when neither came), in one transaction per call with its call/completed, as the webhooks do.
// It also settles any other ended call left unsettled: the status callback writes the status
// and settles in two statements when the row already existed, and a crash may come between;
// Twilio's retry of that callback settles the call before it is answered, but one that never
// comes (Twilio retries once, and only when the connection failed) leaves it to this.
import type { Database } from "@callflow/db";
import { VOICE_CALLBACK_GRACE_SECONDS } from "@callflow/domain";
import { sql } from "kysely";
import type { Log } from "../log.ts";
import { settleCall } from "./twilio-voice-flow.ts";

/** Calls settled per transaction batch; the rest wait for the next sweep. */
const SWEEP_BATCH = 100;

/**
 * Settles the calls that ended at least `graceSeconds` ago with no outcome yet; returns how
 * many it settled. Safe beside the webhooks and other replicas: each call is locked first
 * (skipping ones locked now), and settleCall settles a call only once.
 */
export async function settleOverdueCalls(
  database: Database,
  { graceSeconds = VOICE_CALLBACK_GRACE_SECONDS }: { graceSeconds?: number } = {},
): Promise<number> {
  return database.withService(async (tx) => {
    const overdue = await tx
      .selectFrom("call_logs")
      .innerJoin("organizations", "organizations.id", "call_logs.organization_id")
      .selectAll("call_logs")
      .select("organizations.answered_min_seconds")
      .where("call_logs.outcome_settled_at", "is", null)
      // Also a call that never came through the Voice URL, which settles at its final status:
      // here only when a crash came between writing that status and settling it, and no retry followed.
      .where("call_logs.outcome", "is", null)
      .where("call_logs.ended_at", "<=", sql<Date>`now() - make_interval(secs => ${graceSeconds})`)
      .orderBy("call_logs.ended_at")
      .limit(SWEEP_BATCH)
      .forUpdate("call_logs")
      .skipLocked()
      .execute();
    let settled = 0;
    for (const { answered_min_seconds, ...row } of overdue) {
      if (await settleCall(tx, row, answered_min_seconds, { overdue: true })) settled += 1;
    }
    return settled;
  });
}

export interface OverdueCallSweep {
  stop(): Promise<void>;
}

/** Runs settleOverdueCalls every `intervalMs`, waking the outbox relay when it settled calls. */
export function startOverdueCallSweep({
  database,
  outbox,
  log,
  intervalMs = 5_000,
}: {
  database: Database;
  outbox: { wake(): void };
  log: Log;
  intervalMs?: number;
}): OverdueCallSweep {
  let running: Promise<void> | null = null;
  const sweep = async () => {
    try {
      if ((await settleOverdueCalls(database)) > 0) outbox.wake();
    } catch (error) {
      // The next sweep tries again; nothing was settled in a transaction that failed.
      log.warn("overdue calls not settled yet", { error: (error as Error).message });
    } finally {
      running = null;
    }
  };
  // A sweep still running (a slow database) is not started twice.
  const timer = setInterval(() => {
    running ??= sweep();
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
