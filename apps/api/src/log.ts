// Structured JSON logs, one object a line. A line written inside an active span carries its
// trace_id and span_id, so a request's, a run's and a provider call's lines join their trace.
import { isSpanContextValid, trace } from "@opentelemetry/api";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Log {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Log;
}

/** The Inngest SDK's logger interface over ours: its first text argument is the message. */
export function inngestLoggerOf(log: Log) {
  const at =
    (level: "debug" | "info" | "warn" | "error") =>
    (...args: unknown[]) => {
      const text = args.find((arg): arg is string => typeof arg === "string") ?? "inngest";
      const fields: Record<string, unknown> = { source: "inngest" };
      for (const arg of args) {
        if (arg instanceof Error) fields.error = arg.message;
        else if (arg && typeof arg === "object") Object.assign(fields, arg);
      }
      log[level](text, fields);
    };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

export function createLog(
  level: LogLevel,
  base: Record<string, unknown> = {},
  write = (line: string) => process.stdout.write(line),
): Log {
  const at =
    (lineLevel: Exclude<LogLevel, "silent">) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      if (ORDER[lineLevel] < ORDER[level]) return;
      const span = trace.getActiveSpan()?.spanContext();
      const ids = span && isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : null;
      write(
        `${JSON.stringify({ level: lineLevel, time: new Date().toISOString(), msg, ...ids, ...base, ...fields })}\n`,
      );
    };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (fields) => createLog(level, { ...base, ...fields }, write),
  };
}
