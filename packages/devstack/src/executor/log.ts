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
