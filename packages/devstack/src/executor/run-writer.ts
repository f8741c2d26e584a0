// Applying what a call's answer means (a Transition) to a run: one statement to the store
// (memoised results and the run's changes together), mirrored in the in-memory run.
import type { SerializedError, Transition } from "./app-response.ts";
import { preview } from "./app-response.ts";
import { type Backoff, retryAfterMs } from "./backoff.ts";
import type { Intake } from "./intake.ts";
import type { ExecutorLog } from "./log.ts";
import type { RunState } from "./run-state.ts";
import { type RecordedStep, type RunPatch, recordSteps, updateRun } from "./store/runs-store.ts";
import type { Db } from "./store/schema.ts";

export interface RunWriter {
  db: Db;
  intake: Intake;
  backoff: Backoff;
  log: ExecutorLog;
  /** Retries after the first attempt, for the run's function. */
  retriesOf(run: RunState): number;
}

const FUNCTION_FAILED = "inngest/function.failed";

/** Applies a transition; "again" when the next call follows at once, else when the run next needs the executor. */
export async function applyTransition(
  writer: RunWriter,
  run: RunState,
  transition: Transition,
): Promise<"again" | Date | null> {
  switch (transition.kind) {
    case "continue":
      return plan(writer, run, transition.results, transition.planned, transition.parallel);
    case "finish":
      await patchRun(writer, run, transition.results, {
        status: "completed",
        output: transition.output,
        ended_at: new Date(),
        pending_step: null,
      });
      writer.log({ level: "info", msg: "run completed", runId: run.runId, functionId: run.functionId });
      return null;
    case "fail":
      await failRun(writer, run, transition.error);
      return null;
    case "retry":
      return retryLater(writer, run, transition);
    case "sleep":
      return patchRun(writer, run, transition.results, {
        status: "sleeping",
        pending_step: transition.stepId,
        next_at: new Date(transition.wakeAt),
        attempt: 0,
      });
    case "wait":
      return patchRun(writer, run, transition.results, {
        status: "waiting",
        pending_step: transition.stepId,
        wait_event: transition.event,
        wait_if: transition.condition,
        wait_match: transition.match,
        next_at: new Date(transition.timeoutAt),
        attempt: 0,
      });
  }
}

/** Memoises results and queues planned steps; the next call follows at once. */
async function plan(writer: RunWriter, run: RunState, results: RecordedStep[], planned: string[], parallel: boolean) {
  const replanned = planned.find((id) => run.steps.has(id));
  if (replanned) {
    const error = { name: "Error", message: `the SDK planned step ${replanned}, whose result it was sent` };
    const final = run.attempt + 1 > writer.retriesOf(run);
    return retryLater(writer, run, { results, error, stepId: null, retryAfter: null, final });
  }
  const answered = new Set(results.map((result) => result.stepId));
  const queue = [...run.planned, ...planned.filter((id) => !run.planned.includes(id))].filter(
    (id) => !run.steps.has(id) && !answered.has(id),
  );
  const changes: RunPatch = {};
  if (run.attempt !== 0) changes.attempt = 0;
  if (queue.join() !== run.planned.join()) changes.planned = queue;
  if ((queue[0] ?? "step") !== run.nextStep) changes.next_step = queue[0] ?? "step";
  // Parallel steps make every later step planned first, until a sleep or wait resumes the run
  // (inngest/inngest pkg/execution/executor/executor.go ForceStepPlan; force_step_plan.go).
  if (parallel && !run.disableImmediate) changes.disable_immediate = true;
  await patchRun(writer, run, results, Object.keys(changes).length ? changes : null);
  return "again" as const;
}

async function retryLater(
  writer: RunWriter,
  run: RunState,
  retry: Omit<Extract<Transition, { kind: "retry" }>, "kind">,
) {
  if (retry.final) {
    await patchRun(writer, run, retry.results, null);
    await failRun(writer, run, retry.error);
    return null;
  }
  const delay = retryAfterMs(retry.retryAfter, Date.now()) ?? writer.backoff(run.attempt);
  writer.log({
    level: "info",
    msg: retry.stepId ? "step failed; retrying" : "request failed; retrying",
    runId: run.runId,
    attempt: run.attempt + 1,
    delayMs: delay,
    error: retry.error.message,
  });
  return patchRun(writer, run, retry.results, {
    attempt: run.attempt + 1,
    next_at: new Date(Date.now() + delay),
    ...(retry.stepId ? { next_step: retry.stepId } : {}),
  });
}

/** One statement: memoises the results not yet recorded and applies the changes; then mirrors both. */
export async function patchRun(
  writer: RunWriter,
  run: RunState,
  results: RecordedStep[],
  changes: RunPatch | null,
): Promise<Date> {
  const fresh = new Map<string, RecordedStep>();
  for (const result of results) if (!run.steps.has(result.stepId)) fresh.set(result.stepId, result);
  if (fresh.size || changes) await recordSteps(writer.db, run.runId, run.steps.size, [...fresh.values()], changes);
  for (const result of fresh.values()) run.steps.set(result.stepId, result.resultJson);
  if (changes) mirror(run, changes);
  return run.nextAt;
}

/** A final failure; the function's failure handler (if synced) runs on `inngest/function.failed`. */
export async function failRun(writer: RunWriter, run: RunState, error: SerializedError) {
  const now = new Date();
  const changes: RunPatch = { status: "failed", error, ended_at: now, pending_step: null };
  const ingested = await writer.db.transaction().execute(async (trx) => {
    await updateRun(trx, run.runId, changes);
    const failure = {
      name: FUNCTION_FAILED,
      id: `function-failed-${run.runId}`,
      data: { function_id: run.functionId, run_id: run.runId, error, event: run.event },
      ts: now.getTime(),
    };
    return writer.intake.ingest(trx, [failure], null, now);
  });
  writer.intake.announce(ingested);
  mirror(run, changes);
  writer.log({
    level: "warn",
    msg: "run failed",
    runId: run.runId,
    functionId: run.functionId,
    error: preview(error.message),
  });
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
