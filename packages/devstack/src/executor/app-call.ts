// One call to the app's endpoint for a run, registered as the run's call in flight for as
// long as it lasts: the checkpoints the SDK posts meanwhile must name it.
import { randomBytes } from "node:crypto";
import { newUlid } from "./event-ids.ts";
import type { SyncedFunction } from "./function-config.ts";
import { type ExecutorLog, errorText, traceOf } from "./log.ts";
import type { RunState } from "./run-state.ts";
import { type Dispatch, requestBody, requestHeaders, requestUrl } from "./sdk-request.ts";
import type { Signer } from "./signing.ts";

/** The call in flight for each run being driven: what a checkpoint must match. */
export type Dispatches = Map<string, { run: RunState; fn: SyncedFunction; dispatch: Dispatch }>;

export type CallOutcome =
  | { kind: "aborted" }
  | { kind: "unreachable"; error: string; refused: boolean }
  | { kind: "answered"; status: number; noRetry: boolean; retryAfter: string | null; body: unknown };

export interface AppCaller {
  call(run: RunState, fn: SyncedFunction): Promise<CallOutcome>;
  /** Aborts the calls in flight; their runs are called again after a restart. */
  abort(): void;
  readonly aborted: AbortSignal;
}

export function createAppCaller(deps: {
  signer: Signer;
  dispatches: Dispatches;
  requestTimeoutMs: number;
  log: ExecutorLog;
}): AppCaller {
  const aborted = new AbortController();
  let generations = 0;
  // Generations restart with the process: the queue item id also names this process, so a
  // call from before a restart never matches a call of this one.
  const boot = randomBytes(6).toString("hex");

  async function call(run: RunState, fn: SyncedFunction): Promise<CallOutcome> {
    const generation = ++generations;
    const dispatch: Dispatch = {
      generation,
      requestId: newUlid(Date.now()),
      queueItemId: `${run.runId}:${boot}:${generation}`,
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
      deps.log({
        level: "debug",
        msg: "call",
        runId: run.runId,
        ...traceOf(run.event),
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
        body: parseJson(text),
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

  return { call, abort: () => aborted.abort(), aborted: aborted.signal };
}

/** The app's answer as JSON, or as the text it was when it is not JSON. */
function parseJson(text: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
