// A run as the executor holds it while driving it: read once when its drive starts (or
// made when it is created), then kept current in place by its only writers (the drive
// loop and the checkpoint API during the drive's request), never copied per request.
import { canonicalJson } from "./expression.ts";

export type RunStatus = "pending" | "sleeping" | "waiting" | "completed" | "failed";

/** The event as a function sees it. */
export interface EventPayload {
  id: string;
  name: string;
  data: Record<string, unknown>;
  ts: number;
  user?: Record<string, unknown>;
  v?: string;
}

/** A memoised step as the SDK reads it: `{ data }` or `{ error }`. */
export type StepResult = { data: unknown } | { error: unknown };

export interface RunState {
  readonly runId: string;
  readonly functionId: string;
  readonly event: EventPayload;
  /** The event as canonical JSON, made once: every request to the app carries it. */
  readonly eventJson: string;
  readonly createdAt: Date;
  /** The concurrency keys the run holds while a request of it is in flight. */
  readonly concurrencyKeys: string[];
  status: RunStatus;
  /** The attempt of the current request (reset when a step completes). */
  attempt: number;
  /** When the run next needs the executor: its next request, a timer, or a wait's timeout. */
  nextAt: Date;
  /** The `stepId` of the next request: "step", or a planned or retried step's hashed id. */
  nextStep: string;
  /** Steps the SDK planned and the executor has yet to run, in order. */
  planned: string[];
  disableImmediate: boolean;
  /** The Sleep or WaitForEvent step the run is parked on. */
  pendingStep: string | null;
  /** Memoised steps in the order they were recorded: hashed id → canonical JSON of the result. */
  steps: Map<string, string>;
}

export function newRunState(run: {
  runId: string;
  functionId: string;
  event: EventPayload;
  createdAt: Date;
  startAt: Date;
  concurrencyKeys: string[];
}): RunState {
  return {
    runId: run.runId,
    functionId: run.functionId,
    event: run.event,
    eventJson: canonicalJson(run.event),
    createdAt: run.createdAt,
    concurrencyKeys: run.concurrencyKeys,
    status: "pending",
    attempt: 0,
    nextAt: run.startAt,
    nextStep: "step",
    planned: [],
    disableImmediate: false,
    pendingStep: null,
    steps: new Map(),
  };
}

export const isEnded = (status: RunStatus) => status === "completed" || status === "failed";
