// One call to the app: the body and headers Inngest Cloud sends (inngest/inngest
// pkg/execution/driver/request.go, SDKRequest; httpdriver.go for the headers). Sending
// `ctx.fn_id` and `ctx.qi_id` puts inngest-js 4.x in its checkpointing mode, as on Cloud:
// it runs steps within the request and posts each result to /v1/checkpoint/{runId}/async.
//
// The body is canonical JSON (RFC 8785), which the SDK verifies the signature against. It
// is assembled from parts made once (the event, each memoised step's result), so a call
// costs a concatenation, not a copy and re-serialisation of the run's whole state.
import { canonicalJson } from "./expression.ts";
import type { SyncedFunction } from "./function-config.ts";
import type { RunState } from "./run-state.ts";

export interface Dispatch {
  /** Monotonic per executor process: a checkpoint must carry the generation of the request in flight. */
  generation: number;
  requestId: string;
  /** Cloud's queue item reference; here the run, the executor process and the generation. */
  queueItemId: string;
}

export function requestBody(run: RunState, fn: SyncedFunction, dispatch: Dispatch): string {
  const stack = [...run.steps.keys()];
  const ctx = canonicalJson({
    attempt: run.attempt,
    disable_immediate_execution: run.disableImmediate,
    fn_id: fn.internalId,
    generation_id: dispatch.generation,
    job_id: dispatch.queueItemId,
    // Lets the SDK report a step's last failure as final (StepFailed).
    max_attempts: fn.retries + 1,
    qi_id: dispatch.queueItemId,
    request_id: dispatch.requestId,
    run_id: run.runId,
    stack: { current: stack.length, stack },
    step_id: run.nextStep,
    use_api: false,
  });
  return `{"ctx":${ctx},"event":${run.eventJson},"events":[${run.eventJson}],"steps":${stepsJson(run)},"use_api":false,"version":2}`;
}

/** A run's steps only grow while it is driven: the same count means the same steps. */
const stepsCache = new WeakMap<RunState, { count: number; json: string }>();

function stepsJson(run: RunState): string {
  const cached = stepsCache.get(run);
  if (cached && cached.count === run.steps.size) return cached.json;
  // Keys in RFC 8785 order: the step ids are hex, so a plain sort is the canonical order.
  const members = [...run.steps.keys()].sort().map((id) => `${JSON.stringify(id)}:${run.steps.get(id)}`);
  const json = `{${members.join(",")}}`;
  stepsCache.set(run, { count: run.steps.size, json });
  return json;
}

export function requestHeaders(run: RunState, dispatch: Dispatch, signature: string): Record<string, string> {
  return {
    "content-type": "application/json",
    "x-inngest-signature": signature,
    "x-run-id": run.runId,
    "x-request-id": dispatch.requestId,
    "x-inngest-generation-id": String(dispatch.generation),
    "x-inngest-job-id": dispatch.queueItemId,
  };
}

export function requestUrl(run: RunState, fn: SyncedFunction): URL {
  const url = new URL(fn.stepUrl);
  url.searchParams.set("fnId", fn.id);
  url.searchParams.set("stepId", run.nextStep);
  return url;
}
