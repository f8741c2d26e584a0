// Driving one run over the SDK protocol: call the app with the run's memoised state
// (app-call.ts), read what it answered (app-response.ts), apply it (run-writer.ts), and
// call again until the run parks, ends or has to wait. While a call is in flight, the
// checkpoint API may add steps to the same in-memory run (checkpoint.ts).
import type { AppCaller, CallOutcome } from "./app-call.ts";
import { interpretResponse, type Transition } from "./app-response.ts";
import type { FunctionRegistry } from "./function-registry.ts";
import type { ExecutorLog } from "./log.ts";
import { isEnded, type RunState } from "./run-state.ts";
import { applyTransition, failRun, patchRun, type RunWriter } from "./run-writer.ts";
import { loadRun, resumeParked, updateRun } from "./store/runs-store.ts";

export interface RunDriver {
  /**
   * Drives the run until it parks or ends (`next` null) or has nothing to do before a time
   * (`next`: a retry, a throttled start, a sleep's end, a wait's timeout). `run` is its state
   * as last written (null when there is no such run), for the next drive to start from.
   */
  drive(runId: string, preloaded: RunState | null): Promise<DriveEnd>;
}

export interface DriveEnd {
  next: Date | null;
  run: RunState | null;
}

/** How long an app that refuses connections (not listening: restarting) may do so before attempts count. */
const REFUSED_GRACE_MS = 60_000;

export function createRunDriver(deps: {
  writer: RunWriter;
  caller: AppCaller;
  functions: FunctionRegistry;
  log: ExecutorLog;
}): RunDriver {
  const { writer, caller, functions } = deps;
  const db = writer.db;
  /** Runs whose app refused connections, since when. */
  const refused = new Map<string, { since: number; count: number }>();

  async function drive(runId: string, preloaded: RunState | null): Promise<DriveEnd> {
    let run = preloaded ?? (await loadRun(db, runId));
    for (;;) {
      if (caller.aborted.aborted || !run || isEnded(run.status)) return { next: null, run };
      if (run.nextAt.getTime() > Date.now()) return { next: run.nextAt, run };
      if (run.status === "sleeping" || run.status === "waiting") {
        // The timer fired or the wait timed out: the step's result is null.
        const resumed = await resumeOnTime(run);
        if (resumed) {
          run = resumed;
          continue;
        }
        // An event ended it first: go on from what is stored. Stored as it was, it could not be
        // ended now: look again later instead of asking again at once (a loop of embedded
        // PGlite queries never yields to timers, I/O or signals).
        const stored = await loadRun(db, runId);
        if (stored && stored.status === run.status && stored.pendingStep === run.pendingStep) {
          return { next: new Date(Date.now() + 1_000), run: stored };
        }
        run = stored;
        continue;
      }
      const fn = functions.get(run.functionId);
      if (!fn) {
        await failRun(writer, run, {
          name: "Error",
          message: `function ${run.functionId} is not synced with the executor`,
        });
        return { next: null, run };
      }
      const outcome = await caller.call(run, fn);
      // Cut off: what the call's checkpoints recorded is in the store, not necessarily here.
      if (outcome.kind === "aborted") return { next: null, run: null };
      const next = await settle(run, fn.retries, outcome);
      if (next !== "again") return { next, run };
    }
  }

  /** Ends a sleep or a timed-out wait; null when an event ended it first (then read the run again). */
  async function resumeOnTime(run: RunState): Promise<RunState | null> {
    const stepId = run.pendingStep;
    const now = new Date();
    if (!stepId) {
      await updateRun(db, run.runId, { status: "pending" });
      run.status = "pending";
      return run;
    }
    if (!(await resumeParked(db, run.runId, stepId, '{"data":null}', now))) return null;
    run.steps.set(stepId, '{"data":null}');
    Object.assign(run, { status: "pending", pendingStep: null, attempt: 0, nextAt: now, disableImmediate: false });
    return run;
  }

  async function settle(run: RunState, retries: number, outcome: CallOutcome): Promise<"again" | Date | null> {
    if (outcome.kind === "unreachable" && outcome.refused) {
      const delay = refusedDelay(run.runId);
      if (delay !== null) {
        deps.log({
          level: "warn",
          msg: "the app refused the connection; trying again",
          runId: run.runId,
          delayMs: delay,
        });
        return patchRun(writer, run, [], { next_at: new Date(Date.now() + delay) });
      }
    }
    refused.delete(run.runId);
    const transition: Transition =
      outcome.kind === "answered"
        ? interpretResponse(outcome, run, retries, Date.now())
        : {
            kind: "retry",
            results: [],
            error: { name: "Error", message: outcome.kind === "unreachable" ? outcome.error : "aborted" },
            stepId: null,
            retryAfter: null,
            final: run.attempt + 1 > retries,
          };
    return applyTransition(writer, run, transition);
  }

  /** A restarting app's refusals do not use up attempts for a while: try again soon. */
  function refusedDelay(runId: string): number | null {
    const refusals = refused.get(runId) ?? { since: Date.now(), count: 0 };
    refusals.count++;
    refused.set(runId, refusals);
    if (Date.now() - refusals.since >= REFUSED_GRACE_MS) return null;
    return Math.min(250 * 2 ** (refusals.count - 1), 5000);
  }

  return { drive };
}
