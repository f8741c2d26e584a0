// The executor's structured log lines: each carries its level, and the host logs it at that
// level (apps/api/src/main.ts passes `level` through to its logger).
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface ExecutorLogLine {
  level: LogLevel;
  msg: string;
  [field: string]: unknown;
}

export type ExecutorLog = (line: ExecutorLogLine) => void;

export const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** W3C traceparent: version 00, the trace id, the parent span id, the flags. */
const TRACEPARENT = /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The trace id an event carries in `data.traceContext.traceparent` (@callflow/inngest
 * trace-context.ts writes it), or null. Read here without OpenTelemetry: the executor only
 * labels its lines, the run's spans are the functions' own.
 */
export function traceIdOfEvent(event: unknown): string | null {
  const data = (event as { data?: { traceContext?: { traceparent?: unknown } } } | null)?.data;
  const traceparent = data?.traceContext?.traceparent;
  if (typeof traceparent !== "string" || traceparent.length !== 55) return null;
  const traceId = TRACEPARENT.exec(traceparent)?.[1];
  return traceId && traceId !== "0".repeat(32) ? traceId : null;
}

/**
 * The executor's log, each line about a run (`runId`) carrying that run's `trace_id`: learnt
 * from the lines that name both (a run created, a call to the app, which read it from the
 * run's event), for the latest `capacity` runs.
 */
export function withRunTraceIds(log: ExecutorLog, capacity = 10_000): ExecutorLog {
  const traceIds = new Map<string, string>();
  return (line) => {
    const runId = typeof line.runId === "string" ? line.runId : null;
    if (!runId) return log(line);
    if (typeof line.trace_id === "string") {
      if (!traceIds.has(runId)) {
        traceIds.set(runId, line.trace_id);
        if (traceIds.size > capacity) traceIds.delete(traceIds.keys().next().value as string);
      }
      return log(line);
    }
    const traceId = traceIds.get(runId);
    log(traceId ? { ...line, trace_id: traceId } : line);
  };
}

/** `{ trace_id }` for a line about a run of this event, or nothing. */
export function traceOf(event: unknown): { trace_id?: string } {
  const traceId = traceIdOfEvent(event);
  return traceId ? { trace_id: traceId } : {};
}
