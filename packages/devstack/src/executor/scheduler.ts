// Scheduling: which runs to drive now, within capacity, and when to look again.
//
// The store is the truth (a scan finds due runs at start, when a timer fires, and when a
// scan left due runs it could not start); between scans the scheduler acts on what it is
// told: runs just created or resumed by events start at once, or as soon as a drive ends
// when there is no capacity, and a drive that ends with a time (retry, sleep, wait timeout,
// throttled start) arms the timer. So a quiet executor costs the store nothing, and a run
// costs it no scan. Between drives a run's state stays in memory (idle-runs.ts).
//
// Capacity: at most `maxConcurrency` runs driven at once, and per concurrency key at most
// its function's limit. Inngest's `concurrency` counts requests executing code, one slot
// each; a sleeping or waiting run holds none (inngest.com/docs/guides/concurrency). Here a
// run holds its keys while it is driven, that is while it has calls to make, one at a time.
import type { FunctionRegistry } from "./function-registry.ts";
import { createIdleRuns } from "./idle-runs.ts";
import type { Ingested } from "./intake.ts";
import { type ExecutorLog, errorText } from "./log.ts";
import type { RunDriver } from "./run-driver.ts";
import type { RunState } from "./run-state.ts";
import { type ReadyRun, upcomingRuns } from "./store/runs-store.ts";
import type { Db } from "./store/schema.ts";

/** A scan never waits longer than this for a timer, in case a clock jumped. */
const MAX_TIMER_MS = 30_000;
/** Runs kept in memory between their drives (idle-runs.ts); beyond this, they are read from the store. */
const IDLE_RUNS_KEPT = 20_000;

export interface Scheduler {
  /** Runs ready after a transaction of events (created, resumed) committed. */
  offer(ingested: Ingested): void;
  /** Looks at the store for due runs. */
  scan(): void;
  /** True when no run is driven and no scan is under way. */
  quiet(): boolean;
  /** Waits for the drives in progress (after their calls were aborted). */
  stop(): Promise<void>;
}

export function createScheduler(deps: {
  db: Db;
  functions: FunctionRegistry;
  driver: RunDriver;
  maxConcurrency: number;
  log: ExecutorLog;
}): Scheduler {
  const { db, functions, driver, log } = deps;
  const driving = new Map<string, Promise<void>>();
  /** Concurrency keys held by driven runs: how many, and their limit. */
  const held = new Map<string, { count: number; limit: number }>();
  let stopped = false;
  let scanning: Promise<void> | null = null;
  let scanAgain = false;
  /** Due runs that could not start (no capacity, or still being driven): started as drives end. */
  const declined = new Map<string, ReadyRun>();
  /** A scan left due runs in the store (behind a saturated key, or past its page): scan when a drive ends. */
  let leftInStore = false;
  let declinedPass: NodeJS.Immediate | null = null;
  let timer: { at: number; handle: NodeJS.Timeout } | null = null;
  const idle = createIdleRuns(IDLE_RUNS_KEPT);
  /** Runs whose wait an event ended while they were being driven: what their drive holds is not what is stored. */
  const resumedWhileDriven = new Set<string>();

  /** A run's keys line up with its function's concurrency limits. */
  const limitsOf = (run: ReadyRun) => {
    const limits = functions.get(run.functionId)?.concurrency ?? [];
    return run.concurrencyKeys.map((key, index) => ({ key, limit: limits[index]?.limit ?? Number.POSITIVE_INFINITY }));
  };

  /** Starts driving the run when capacity allows; otherwise it starts when a drive ends. */
  function tryStart(run: ReadyRun, preloaded: RunState | null) {
    if (stopped) return;
    const keys = limitsOf(run);
    const full = keys.some(({ key, limit }) => (held.get(key)?.count ?? 0) >= limit);
    if (driving.has(run.runId) || driving.size >= deps.maxConcurrency || full) {
      declined.set(run.runId, run);
      if (preloaded) idle.keep(preloaded);
      return;
    }
    declined.delete(run.runId);
    for (const { key, limit } of keys) held.set(key, { count: (held.get(key)?.count ?? 0) + 1, limit });
    const kept = idle.take(run.runId);
    /** The state to keep when the drive ends: set once it ended with a time, the run unfinished. */
    let unfinished: RunState | null = null;
    const drive = driver
      .drive(run.runId, preloaded ?? kept)
      .then(({ next, run: last }) => {
        if (last && next) unfinished = last;
        if (next) arm(next.getTime());
      })
      .catch((error) => {
        if (stopped) return;
        log({
          level: "error",
          msg: "run loop failed; it is picked up again",
          runId: run.runId,
          error: errorText(error),
        });
        arm(Date.now() + 1000);
      })
      .finally(() => {
        // Kept as it leaves `driving`, in the same turn: an event that ends its wait sees it in one or the other.
        driving.delete(run.runId);
        if (unfinished && !resumedWhileDriven.has(run.runId)) idle.keep(unfinished);
        resumedWhileDriven.delete(run.runId);
        for (const { key } of keys) {
          const entry = held.get(key);
          if (entry && entry.count > 1) entry.count--;
          else held.delete(key);
        }
        startDeclinedSoon();
        if (leftInStore) scanSoon();
      });
    driving.set(run.runId, drive);
  }

  /**
   * Runs that could not start, oldest first, each tried once, while there is capacity: after
   * the current turn of the event loop, as scans (a drive can end within microtasks).
   */
  function startDeclinedSoon() {
    if (declinedPass || declined.size === 0) return;
    declinedPass = setImmediate(() => {
      declinedPass = null;
      startDeclined();
    });
  }

  function startDeclined() {
    let tries = declined.size;
    for (const [runId, run] of declined) {
      if (tries-- <= 0 || driving.size >= deps.maxConcurrency || stopped) return;
      declined.delete(runId);
      tryStart(run, null);
    }
  }

  function arm(at: number) {
    if (stopped || (timer && timer.at <= at)) return;
    if (timer) clearTimeout(timer.handle);
    const handle = setTimeout(
      () => {
        timer = null;
        scan();
      },
      Math.max(0, Math.min(at - Date.now(), MAX_TIMER_MS)),
    );
    handle.unref();
    timer = { at, handle };
  }

  function scan() {
    if (stopped) return;
    if (scanning) {
      scanAgain = true;
      return;
    }
    scanAgain = false;
    leftInStore = false;
    scanning = pass()
      .catch((error) => {
        if (stopped) return;
        log({ level: "error", msg: "scheduler failed; trying again in 1 s", error: errorText(error) });
        arm(Date.now() + 1000);
      })
      .finally(() => {
        scanning = null;
        if (scanAgain) scanSoon();
      });
  }

  /**
   * A scan after the current turn of the event loop. Embedded PGlite answers within
   * microtasks, so scans that follow one another directly would never let timers, I/O or
   * signals (SIGTERM) run while work keeps being left.
   */
  function scanSoon() {
    setImmediate(scan);
  }

  async function pass() {
    const limit = deps.maxConcurrency * 2 + 8;
    const saturated = [...held.entries()].filter(([, entry]) => entry.count >= entry.limit).map(([key]) => key);
    const rows = await upcomingRuns(db, { driving: [...driving.keys()], saturatedKeys: saturated, limit });
    const now = Date.now();
    for (const row of rows) {
      if (row.nextAt.getTime() > now) {
        arm(row.nextAt.getTime());
        break;
      }
      tryStart(row, null);
    }
    // Runs behind a saturated key were left out, and a full page may hide more due runs:
    // look again when a drive ends and frees capacity. A drive that ended while the query
    // ran has already freed its key, and no drive may be left to look again: look now.
    if (saturated.length || rows.length === limit) leftInStore = true;
    const freedMeanwhile = saturated.some((key) => {
      const entry = held.get(key);
      return !entry || entry.count < entry.limit;
    });
    if (freedMeanwhile) scanAgain = true;
  }

  return {
    offer(ingested) {
      const now = Date.now();
      for (const run of ingested.created) {
        if (run.nextAt.getTime() <= now) tryStart(run, run);
        else {
          idle.keep(run);
          arm(run.nextAt.getTime());
        }
      }
      for (const run of ingested.resumed) {
        if (driving.has(run.runId)) resumedWhileDriven.add(run.runId);
        else idle.resume(run.runId, run.stepId, run.resultJson, run.resumedAt);
        tryStart(run, null);
      }
    },
    scan,
    quiet: () => driving.size === 0 && !scanning,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer.handle);
      if (declinedPass) clearImmediate(declinedPass);
      await scanning;
      await Promise.allSettled([...driving.values()]);
    },
  };
}
