// Driving one run over the SDK protocol: call the app with the run's memoised state, apply
// what it answered (memoise, plan, sleep, wait, retry, finish, fail), and call again until
// the run parks, ends or has to wait. While a call is in flight, the checkpoint API may add
// steps to the same in-memory run (see checkpoint.ts).
import { interpretResponse, preview, type SerializedError, type Transition } from "./app-response.ts";
import { type Backoff, retryAfterMs } from "./backoff.ts";
import { newUlid } from "./event-ids.ts";
import type { SyncedFunction } from "./function-config.ts";
import type { FunctionRegistry } from "./function-registry.ts";
import type { Intake } from "./intake.ts";
import { type ExecutorLog, errorText } from "./log.ts";
import { isEnded, type RunState } from "./run-state.ts";
import { type Dispatch, requestBody, requestHeaders, requestUrl } from "./sdk-request.ts";
import type { Signer } from "./signing.ts";
import { loadRun, type RecordedStep, type RunPatch, recordSteps, resumeParked, updateRun } from "./store/runs-store.ts";
import type { Db } from "./store/schema.ts";

/** The call in flight for each run being driven: what a checkpoint must match. */
export type Dispatches = Map<string, { run: RunState; fn: SyncedFunction; dispatch: Dispatch }>;

export interface RunDriver {
  /**
   * Drives the run until it parks or ends (null) or has nothing to do before a time (that
   * time: a retry, a throttled start, a sleep's end, a wait's timeout).
   */
  drive(runId: string, preloaded: RunState | null): Promise<Date | null>;
  /** Aborts the calls in flight; their runs are called again after a restart. */
  abort(): void;
}

type CallOutcome =
  | { kind: "aborted" }
  | { kind: "unreachable"; error: string; refused: boolean }
  | { kind: "answered"; status: number; noRetry: boolean; retryAfter: string | null; body: unknown };

const FUNCTION_FAILED = "inngest/function.failed";
/** How long an app that refuses connections (not listening: restarting) may do so before attempts count. */
const REFUSED_GRACE_MS = 60_000;

export function createRunDriver(deps: {
  db: Db;
  functions: FunctionRegistry;
  intake: Intake;
  signer: Signer;
  backoff: Backoff;
  dispatches: Dispatches;
  requestTimeoutMs: number;
  log: ExecutorLog;
}): RunDriver {
  const { db, functions, log } = deps;
  const aborted = new AbortController();
  let generations = 0;
  /** Runs whose app refused connections, since when. */
  const refused = new Map<string, { since: number; count: number }>();

  async function drive(runId: string, preloaded: RunState | null): Promise<Date | null> {
    let run = preloaded ?? (await loadRun(db, runId));
    for (;;) {
      if (aborted.signal.aborted || !run || isEnded(run.status)) return null;
      if (run.nextAt.getTime() > Date.now()) return run.nextAt;
      if (run.status === "sleeping" || run.status === "waiting") {
        // The timer fired or the wait timed out: the step's result is null.
        run = (await resumeOnTime(run)) ?? (await loadRun(db, runId));
        continue;
      }
      const fn = functions.get(run.functionId);
      if (!fn) {
        await failRun(run, { name: "Error", message: `function ${run.functionId} is not synced with the executor` });
        return null;
      }
      const outcome = await call(run, fn);
      if (outcome.kind === "aborted") return null;
      const next = await settle(run, fn, outcome);
      if (next !== "again") return next;
    }
  }

  async function resumeOnTime(run: RunState): Promise<RunState | null> {
    const stepId = run.pendingStep;
    const now = new Date();
    if (!stepId) {
      await updateRun(db, run.runId, { status: "pending" });
      run.status = "pending";
      return run;
    }
    // Something else (a matching event) may have ended the wait first: then read it again.
    if (!(await resumeParked(db, run.runId, stepId, '{"data":null}', now))) return null;
    run.steps.set(stepId, '{"data":null}');
    Object.assign(run, { status: "pending", pendingStep: null, attempt: 0, nextAt: now });
    return run;
  }

  async function call(run: RunState, fn: SyncedFunction): Promise<CallOutcome> {
    const generation = ++generations;
    const dispatch: Dispatch = {
      generation,
      requestId: newUlid(Date.now()),
      queueItemId: `${run.runId}:${generation}`,
    };
    const body = requestBody(run, fn, dispatch);
    const url = requestUrl(run, fn);
    const started = performance.now();
    deps.dispatches.set(run.runId, { run, fn, dispatch });
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: requestHeaders(run, dispatch, deps.signer.sign(body)),
        body,
        signal: AbortSignal.any([aborted.signal, AbortSignal.timeout(deps.requestTimeoutMs)]),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text === "" ? null : JSON.parse(text);
      } catch {}
      log({
        level: "debug",
        msg: "call",
        runId: run.runId,
        functionId: fn.id,
        stepId: run.nextStep,
        attempt: run.attempt,
        status: response.status,
        ms: Math.round(performance.now() - started),
      });
      return {
        kind: "answered",
        status: response.status,
        noRetry: response.headers.get("x-inngest-no-retry") === "true",
        retryAfter: response.headers.get("retry-after"),
        body: parsed,
      };
    } catch (error) {
      if (aborted.signal.aborted) return { kind: "aborted" };
      const cause = (error as { cause?: { code?: unknown; errors?: Array<{ code?: unknown }> } }).cause;
      const code = cause?.code ?? cause?.errors?.[0]?.code;
      return {
        kind: "unreachable",
        error: `${url.origin}${url.pathname} did not answer: ${errorText(error)}${code ? ` (${String(code)})` : ""}`,
        refused: code === "ECONNREFUSED",
      };
    } finally {
      deps.dispatches.delete(run.runId);
    }
  }

  /** Applies a call's outcome; "again" when the next call follows at once. */
  async function settle(run: RunState, fn: SyncedFunction, outcome: CallOutcome): Promise<"again" | Date | null> {
    if (outcome.kind === "unreachable" && outcome.refused) {
      const delay = refusedDelay(run.runId);
      if (delay !== null) {
        log({ level: "warn", msg: "the app refused the connection; trying again", runId: run.runId, delayMs: delay });
        return patch(run, [], { next_at: new Date(Date.now() + delay) });
      }
    }
    refused.delete(run.runId);
    const transition: Transition =
      outcome.kind === "answered"
        ? interpretResponse(outcome, run, fn.retries, Date.now())
        : {
            kind: "retry",
            results: [],
            error: { name: "Error", message: outcome.kind === "unreachable" ? outcome.error : "aborted" },
            stepId: null,
            retryAfter: null,
            final: run.attempt + 1 > fn.retries,
          };
    return apply(run, transition);
  }

  function refusedDelay(runId: string): number | null {
    const refusals = refused.get(runId) ?? { since: Date.now(), count: 0 };
    refusals.count++;
    refused.set(runId, refusals);
    if (Date.now() - refusals.since >= REFUSED_GRACE_MS) return null;
    return Math.min(250 * 2 ** (refusals.count - 1), 5000);
  }

  async function apply(run: RunState, transition: Transition): Promise<"again" | Date | null> {
    const now = Date.now();
    switch (transition.kind) {
      case "continue":
        return plan(run, transition.results, transition.planned, transition.parallel);
      case "finish":
        await patch(run, transition.results, {
          status: "completed",
          output: transition.output,
          ended_at: new Date(now),
          pending_step: null,
        });
        log({ level: "info", msg: "run completed", runId: run.runId, functionId: run.functionId });
        return null;
      case "fail":
        await failRun(run, transition.error);
        return null;
      case "retry":
        return retryLater(run, transition);
      case "sleep":
        await patch(run, transition.results, {
          status: "sleeping",
          pending_step: transition.stepId,
          next_at: new Date(transition.wakeAt),
          attempt: 0,
        });
        return run.nextAt;
      case "wait":
        await patch(run, transition.results, {
          status: "waiting",
          pending_step: transition.stepId,
          wait_event: transition.event,
          wait_if: transition.condition,
          wait_match: transition.match,
          next_at: new Date(transition.timeoutAt),
          attempt: 0,
        });
        return run.nextAt;
    }
  }

  /** Memoises results and queues planned steps; the next call follows at once. */
  async function plan(run: RunState, results: RecordedStep[], planned: string[], parallel: boolean) {
    const replanned = planned.find((id) => run.steps.has(id));
    if (replanned) {
      const error = { name: "Error", message: `the SDK planned step ${replanned}, whose result it was sent` };
      return retryLater(run, {
        results,
        error,
        stepId: null,
        retryAfter: null,
        final: run.attempt + 1 > retriesOf(run),
      });
    }
    const known = new Set(results.map((result) => result.stepId));
    const queue = [...run.planned, ...planned.filter((id) => !run.planned.includes(id))].filter(
      (id) => !run.steps.has(id) && !known.has(id),
    );
    const changes: RunPatch = {};
    if (run.attempt !== 0) changes.attempt = 0;
    if (queue.join() !== run.planned.join()) changes.planned = queue;
    if ((queue[0] ?? "step") !== run.nextStep) changes.next_step = queue[0] ?? "step";
    if (parallel && !run.disableImmediate) changes.disable_immediate = true;
    await patch(run, results, Object.keys(changes).length ? changes : null);
    return "again" as const;
  }

  async function retryLater(run: RunState, retry: Omit<Extract<Transition, { kind: "retry" }>, "kind">) {
    if (retry.final) {
      await patch(run, retry.results, null);
      await failRun(run, retry.error);
      return null;
    }
    const delay = retryAfterMs(retry.retryAfter, Date.now()) ?? deps.backoff(run.attempt);
    log({
      level: "info",
      msg: retry.stepId ? "step failed; retrying" : "request failed; retrying",
      runId: run.runId,
      attempt: run.attempt + 1,
      delayMs: delay,
      error: retry.error.message,
    });
    await patch(run, retry.results, {
      attempt: run.attempt + 1,
      next_at: new Date(Date.now() + delay),
      ...(retry.stepId ? { next_step: retry.stepId } : {}),
    });
    return run.nextAt;
  }

  const retriesOf = (run: RunState) => functions.get(run.functionId)?.retries ?? 0;

  /** One statement: memoises the new results and applies the changes, then mirrors both in memory. */
  async function patch(run: RunState, results: RecordedStep[], changes: RunPatch | null): Promise<Date> {
    const fresh = results.filter(
      (result, index) =>
        !run.steps.has(result.stepId) && results.findIndex((other) => other.stepId === result.stepId) === index,
    );
    if (fresh.length || changes) await recordSteps(db, run.runId, run.steps.size, fresh, changes);
    for (const result of fresh) run.steps.set(result.stepId, result.resultJson);
    if (changes) mirror(run, changes);
    return run.nextAt;
  }

  /** A final failure; the function's failure handler (if synced) runs on `inngest/function.failed`. */
  async function failRun(run: RunState, error: SerializedError) {
    const now = new Date();
    const changes: RunPatch = { status: "failed", error, ended_at: now, pending_step: null };
    const ingested = await db.transaction().execute(async (trx) => {
      await updateRun(trx, run.runId, changes);
      const failure = {
        name: FUNCTION_FAILED,
        id: `function-failed-${run.runId}`,
        data: { function_id: run.functionId, run_id: run.runId, error, event: run.event },
        ts: now.getTime(),
      };
      return deps.intake.ingest(trx, [failure], null, now);
    });
    deps.intake.announce(ingested);
    mirror(run, changes);
    log({
      level: "warn",
      msg: "run failed",
      runId: run.runId,
      functionId: run.functionId,
      error: preview(error.message),
    });
  }

  return {
    drive,
    abort: () => aborted.abort(),
  };
}

/** Keeps the in-memory run in step with what was written. */
function mirror(run: RunState, changes: RunPatch) {
  if (changes.status) run.status = changes.status;
  if (changes.attempt !== undefined) run.attempt = changes.attempt;
  if (changes.next_at) run.nextAt = changes.next_at;
  if (changes.next_step) run.nextStep = changes.next_step;
  if (changes.planned) run.planned = changes.planned;
  if (changes.disable_immediate !== undefined) run.disableImmediate = changes.disable_immediate;
  if (changes.pending_step !== undefined) run.pendingStep = changes.pending_step;
}
