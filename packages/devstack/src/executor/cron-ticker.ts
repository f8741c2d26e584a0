// Cron triggers, run the way Inngest runs them: each tick of a function's schedule starts one
// run, with the event `inngest/scheduled.timer` ({ data: { cron } }).
//
// - One run a tick, also across restarts and several executors on one database: the last
//   tick started is stored per function and schedule, and a tick is taken by a conditional
//   update (only where the stored tick is older), in the transaction that starts its run.
//   The event id names the function and the tick, a second guard (event ids start one run).
// - No catch-up storm: after downtime only the latest tick that passed starts a run.
// - A schedule seen for the first time starts at its next tick, as after a sync to Inngest.

import { sql } from "kysely";
import { type CronSchedule, nextTick, previousTick } from "./cron.ts";
import type { SyncedFunction } from "./function-config.ts";
import type { FunctionRegistry } from "./function-registry.ts";
import type { Intake } from "./intake.ts";
import { type ExecutorLog, errorText } from "./log.ts";
import type { EventPayload } from "./run-state.ts";
import type { Db } from "./store/schema.ts";

/** Syncs are noticed, and a jumped clock corrected, at least this often. */
const MAX_WAIT_MS = 30_000;

export interface CronTicker {
  /** Looks for due ticks now (after a sync, say). */
  check(): Promise<void>;
  stop(): Promise<void>;
}

export async function startCronTicker(deps: {
  db: Db;
  functions: FunctionRegistry;
  intake: Intake;
  log: ExecutorLog;
  /** The executor's clock for schedules (tests move it); default Date.now. */
  now?: () => number;
  /** Longest wait between looks; default 30 s. */
  maxWaitMs?: number;
}): Promise<CronTicker> {
  const { db, functions, intake, log } = deps;
  const now = deps.now ?? Date.now;
  const maxWaitMs = deps.maxWaitMs ?? MAX_WAIT_MS;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let checking: Promise<void> | null = null;

  async function fire(fn: SyncedFunction, schedule: CronSchedule, tick: number) {
    const tickAt = new Date(tick);
    const ingested = await db.transaction().execute(async (trx) => {
      const seen = await sql`
        insert into devstack.inngest_cron_ticks (function_id, cron, last_tick)
        values (${fn.id}, ${schedule.source}, ${tickAt})
        on conflict (function_id, cron) do nothing
        returning last_tick`.execute(trx);
      if (seen.rows.length > 0) {
        log({ level: "info", msg: "schedule starts at its next tick", functionId: fn.id, cron: schedule.source });
        return null;
      }
      const taken = await sql`
        update devstack.inngest_cron_ticks set last_tick = ${tickAt}
         where function_id = ${fn.id} and cron = ${schedule.source} and last_tick < ${tickAt}
        returning last_tick`.execute(trx);
      if (taken.rows.length === 0) return null;
      const event: EventPayload = {
        id: `cron:${fn.id}:${schedule.source}:${tickAt.toISOString()}`,
        name: "inngest/scheduled.timer",
        data: { cron: schedule.source },
        ts: tick,
      };
      // The run itself lives on the executor's own clock, as every other run does.
      return intake.ingestScheduled(trx, fn, event, new Date());
    });
    if (!ingested) return;
    log({ level: "info", msg: "cron tick", functionId: fn.id, cron: schedule.source, tick: tickAt.toISOString() });
    intake.announce(ingested);
  }

  async function pass() {
    const at = now();
    let next = at + maxWaitMs;
    for (const fn of functions.all()) {
      for (const schedule of fn.schedules) {
        const due = previousTick(schedule, at);
        if (due !== null) await fire(fn, schedule, due);
        const upcoming = nextTick(schedule, at);
        if (upcoming !== null) next = Math.min(next, upcoming);
      }
    }
    return next - at;
  }

  function arm(waitMs: number) {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void check(), Math.max(0, Math.min(waitMs, maxWaitMs)));
    timer.unref();
  }

  function check(): Promise<void> {
    if (stopped) return Promise.resolve();
    if (checking) return checking;
    checking = pass()
      .then(arm, (error) => {
        if (stopped) return;
        log({ level: "error", msg: "cron check failed; trying again in 1 s", error: errorText(error) });
        arm(1000);
      })
      .finally(() => {
        checking = null;
      });
    return checking;
  }

  await check();
  return {
    check,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await checking;
    },
  };
}
