// What the app's answer to a call means for the run (docs/SDK_SPEC.md 4.4.3 and 5): 200 is
// the function's return value; 206 a list of step ops; anything else an error, retried
// unless `X-Inngest-No-Retry: true`. Pure: the run driver applies the transition.
import { z } from "zod";
import { resolveWakeTime } from "./duration.ts";
import { asyncEqualityKey, canonicalJson, ExpressionError, parseExpression } from "./expression.ts";
import type { EventPayload } from "./run-state.ts";
import type { RecordedStep } from "./store/runs-store.ts";

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  [key: string]: unknown;
}

export type Transition =
  /** Results to memoise and steps the SDK planned: the next call follows at once. */
  | { kind: "continue"; results: RecordedStep[]; planned: string[]; parallel: boolean }
  | { kind: "finish"; results: RecordedStep[]; output: unknown }
  | { kind: "fail"; error: SerializedError }
  /** The request failed as a whole (or its step did, with `stepId`): try again later, or fail. */
  | {
      kind: "retry";
      results: RecordedStep[];
      error: SerializedError;
      stepId: string | null;
      retryAfter: string | null;
      final: boolean;
    }
  | { kind: "sleep"; results: RecordedStep[]; stepId: string; wakeAt: number }
  | {
      kind: "wait";
      results: RecordedStep[];
      stepId: string;
      event: string;
      condition: string | null;
      match: string | null;
      timeoutAt: number;
    };

export const opSchema = z.object({
  id: z.string().min(1).max(256),
  op: z.string().min(1).max(64),
  name: z.string().nullish(),
  displayName: z.string().nullish(),
  data: z.unknown().optional(),
  error: z.unknown().optional(),
  opts: z.record(z.string(), z.unknown()).nullish(),
});
export type Op = z.infer<typeof opSchema>;
const opsSchema = z.array(opSchema).min(1);

/** Ops whose result the run keeps: a step that ran, or failed for good. */
export function stepResult(op: Op): RecordedStep | null {
  if (op.op === "StepRun" || op.op === "Step")
    return { stepId: op.id, resultJson: canonicalJson({ data: op.data ?? null }) };
  if (op.op === "StepFailed") {
    return { stepId: op.id, resultJson: canonicalJson({ error: asError(op.error, "step failed") }) };
  }
  return null;
}

export function interpretResponse(
  response: { status: number; noRetry: boolean; retryAfter: string | null; body: unknown },
  run: { event: EventPayload; attempt: number },
  maxRetries: number,
  now: number,
): Transition {
  const { status, body } = response;
  if (status === 200) return { kind: "finish", results: [], output: body ?? null };
  const final = response.noRetry || run.attempt + 1 > maxRetries;
  if (status !== 206) {
    const error = asError(body, `the app answered ${status}`);
    return response.noRetry ? { kind: "fail", error } : retry([], error, null, response.retryAfter, final);
  }
  const parsed = opsSchema.safeParse(body);
  if (!parsed.success) {
    return retry([], { name: "Error", message: `206 without step ops: ${preview(body)}` }, null, null, final);
  }
  return interpretOps(parsed.data, response, run, final, now);
}

function interpretOps(
  ops: Op[],
  response: { noRetry: boolean; retryAfter: string | null },
  run: { event: EventPayload },
  final: boolean,
  now: number,
): Transition {
  const results: RecordedStep[] = [];
  const rest: Op[] = [];
  for (const op of ops) {
    const result = stepResult(op);
    if (result) results.push(result);
    else rest.push(op);
  }
  const complete = rest.find((op) => op.op === "RunComplete");
  // With checkpointing, the SDK ends a run with the steps it still buffered and RunComplete.
  if (complete) return { kind: "finish", results, output: complete.data ?? null };
  if (rest.every((op) => op.op === "StepPlanned")) {
    return { kind: "continue", results, planned: rest.map((op) => op.id), parallel: ops.length > 1 };
  }
  const [op] = rest as [Op];
  if (rest.length === 1 && op.op === "DiscoveryRequest")
    return { kind: "continue", results, planned: [], parallel: false };
  if (rest.length === 1 && op.op === "StepError") {
    const error = asError(op.error, "step failed");
    // Retries exhausted: the error becomes the step's result, and the function sees it thrown.
    if (final)
      return {
        kind: "continue",
        results: [...results, { stepId: op.id, resultJson: canonicalJson({ error }) }],
        planned: [],
        parallel: false,
      };
    return retry(results, error, op.id, response.retryAfter, false);
  }
  if (rest.length === 1 && op.op === "Sleep") return sleep(results, op, now);
  if (rest.length === 1 && op.op === "WaitForEvent") return wait(results, op, run.event, now);
  const names = rest.map((other) => `${other.op} ("${other.displayName ?? other.id}")`).join(", ");
  return {
    kind: "fail",
    error: {
      name: "Error",
      message: `the dev executor does not support step op ${names}${rest.length > 1 ? " together" : ""}`,
    },
  };
}

function retry(
  results: RecordedStep[],
  error: SerializedError,
  stepId: string | null,
  retryAfter: string | null,
  final: boolean,
): Transition {
  return { kind: "retry", results, error, stepId, retryAfter, final };
}

function sleep(results: RecordedStep[], op: Op, now: number): Transition {
  const target = typeof op.opts?.duration === "string" ? op.opts.duration : op.name;
  try {
    return { kind: "sleep", results, stepId: op.id, wakeAt: resolveWakeTime(String(target ?? ""), now) };
  } catch (error) {
    return {
      kind: "fail",
      error: { name: "Error", message: `Sleep "${op.displayName ?? op.id}": ${(error as Error).message}` },
    };
  }
}

function wait(results: RecordedStep[], op: Op, runEvent: EventPayload, now: number): Transition {
  const event = typeof op.opts?.event === "string" ? op.opts.event : op.name;
  const condition = typeof op.opts?.if === "string" ? op.opts.if : null;
  try {
    if (!event) throw new ExpressionError("no event name");
    const timeoutAt = resolveWakeTime(String(op.opts?.timeout ?? ""), now);
    // Waits are found by an equality the awaited event must satisfy, when the condition has one.
    const match = condition
      ? asyncEqualityKey(parseExpression(condition, ["event", "async"]), { event: runEvent })
      : null;
    return { kind: "wait", results, stepId: op.id, event, condition, match, timeoutAt };
  } catch (error) {
    const message = `WaitForEvent "${op.displayName ?? op.id}" is not supported by the dev executor: ${(error as Error).message}`;
    return { kind: "fail", error: { name: "Error", message } };
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value);

export const preview = (value: unknown) => {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text && text.length > 300 ? `${text.slice(0, 300)}…` : text;
};

/** The SDK's serialised error as it came, or one made from whatever the app answered. */
export function asError(value: unknown, fallback: string): SerializedError {
  if (isRecord(value) && typeof value.message === "string") {
    return { ...value, name: typeof value.name === "string" ? value.name : "Error", message: value.message };
  }
  if (isRecord(value) && typeof value.error === "string") return { name: "Error", message: value.error };
  return {
    name: "Error",
    message: value === null || value === undefined ? fallback : `${fallback}: ${preview(value)}`,
  };
}
