// Structured JSON logs, one object a line.
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Log {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Log;
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
      write(`${JSON.stringify({ level: lineLevel, time: new Date().toISOString(), msg, ...base, ...fields })}\n`);
    };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (fields) => createLog(level, { ...base, ...fields }, write),
  };
}
