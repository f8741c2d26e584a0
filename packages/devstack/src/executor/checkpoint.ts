// The checkpoint API inngest-js 4.x calls in its checkpointing mode (on by default when the
// request carries `ctx.fn_id` and `ctx.qi_id`): it runs steps inside the executor's call
// and posts each result to `POST /v1/checkpoint/{runId}/async` before going on. Modelled on
// Inngest's (inngest/inngest pkg/api/apiv1/checkpoint.go, CheckpointAsyncSteps, and
// pkg/execution/checkpoint/checkpoint.go, checkpointAsyncSteps):
// - StepRun / Step results are memoised durably before the answer, so a step whose result
//   was checkpointed never runs again, also after a restart; StepPlanned is only a notice;
//   any other op cannot be checkpointed (400);
// - a checkpoint resets the attempt count (ResetAttemptsByJobID);
// - a checkpoint from a call that is no longer the run's call in flight (an earlier
//   generation, or one from before a restart) is stale: 409, and the SDK stops that call.
import { z } from "zod";
import type { Dispatches } from "./app-call.ts";
import { opSchema, stepResult } from "./app-response.ts";
import type { ExecutorLog } from "./log.ts";
import { type RecordedStep, recordSteps } from "./store/runs-store.ts";
import type { Db } from "./store/schema.ts";

export const asyncCheckpointSchema = z.object({
  run_id: z.string().min(1).max(64),
  fn_id: z.string().max(64).nullish(),
  qi_id: z.string().min(1).max(200),
  request_id: z.string().max(64).nullish(),
  generation_id: z.number().int().nullish(),
  request_started_at: z.number().nullish(),
  steps: z.array(opSchema).max(1000),
  ts: z.number().nullish(),
});
export type AsyncCheckpoint = z.infer<typeof asyncCheckpointSchema>;

export type CheckpointAnswer = { status: 200 | 400 | 404 | 409; error?: string };

export function createCheckpoints(deps: {
  db: Db;
  dispatches: Dispatches;
  runExists(runId: string): Promise<boolean>;
  log: ExecutorLog;
}) {
  return async function checkpointAsync(runId: string, input: AsyncCheckpoint): Promise<CheckpointAnswer> {
    if (input.run_id !== runId) return { status: 400, error: "run_id differs from the run in the path" };
    const inFlight = deps.dispatches.get(runId);
    const generationDiffers =
      inFlight && input.generation_id != null && input.generation_id !== inFlight.dispatch.generation;
    if (!inFlight || generationDiffers || input.qi_id !== inFlight.dispatch.queueItemId) {
      if (!inFlight && !(await deps.runExists(runId))) return { status: 404, error: `no run ${runId}` };
      deps.log({ level: "info", msg: "stale checkpoint refused", runId, call: input.qi_id });
      return { status: 409, error: `stale dispatch: call ${input.qi_id} is not run ${runId}'s call in flight` };
    }
    const { run, fn } = inFlight;
    if (input.fn_id && input.fn_id !== fn.internalId) return { status: 400, error: "fn_id is not the run's function" };
    const results: RecordedStep[] = [];
    for (const op of input.steps) {
      if (op.op === "StepPlanned") continue;
      const result = op.op === "StepRun" || op.op === "Step" ? stepResult(op) : null;
      if (!result) return { status: 400, error: `cannot checkpoint opcode ${op.op}` };
      if (!run.steps.has(result.stepId) && !results.some((other) => other.stepId === result.stepId)) {
        results.push(result);
      }
    }
    if (results.length || run.attempt !== 0) {
      await recordSteps(deps.db, runId, run.steps.size, results, run.attempt !== 0 ? { attempt: 0 } : null);
      for (const result of results) run.steps.set(result.stepId, result.resultJson);
      run.attempt = 0;
    }
    deps.log({ level: "debug", msg: "checkpoint", runId, steps: results.length });
    return { status: 200 };
  };
}
