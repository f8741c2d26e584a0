// A trace as an indented tree, children under their parent in start order, for the terminal.
import type { RecordedSpan } from "./recent-spans.ts";

/** Attributes worth a glance on each line: ids that say which run, step, event or Twilio resource. */
const SHOWN: ReadonlyArray<[key: string, label: string]> = [
  ["http.response.status_code", "status"],
  ["inngest.run.id", "run"],
  ["inngest.attempt", "attempt"],
  ["inngest.event.id", "event"],
  ["twilio.sid", "sid"],
  ["callflow.job_id", "job"],
];

function line(span: RecordedSpan, depth: number, traceStartMs: number): string {
  const at = `+${Math.round(span.startMs - traceStartMs)}ms`.padStart(9);
  const shown = SHOWN.filter(([key]) => span.attributes[key] !== undefined).map(
    ([key, label]) => `${label}=${String(span.attributes[key])}`,
  );
  const status = span.status === "error" ? ` ERROR${span.statusMessage ? ` (${span.statusMessage})` : ""}` : "";
  return `${at} ${"  ".repeat(depth)}${span.name} ${span.durationMs.toFixed(1)}ms${status}${shown.length ? `  ${shown.join(" ")}` : ""}`;
}

export function renderTrace(traceId: string, spans: readonly RecordedSpan[]): string {
  const ids = new Set(spans.map((span) => span.spanId));
  const children = new Map<string | null, RecordedSpan[]>();
  for (const span of [...spans].sort((a, b) => a.startMs - b.startMs)) {
    // Siblings in start order; the tree itself comes from the parent ids.
    // A parent not in the view (another process's span, or one still open) makes its child a root.
    const parent = span.parentSpanId && ids.has(span.parentSpanId) ? span.parentSpanId : null;
    const siblings = children.get(parent);
    if (siblings) siblings.push(span);
    else children.set(parent, [span]);
  }
  const start = Math.min(...spans.map((span) => span.startMs));
  const lines = [`trace ${traceId} (${spans.length} spans)`];
  const walk = (parent: string | null, depth: number) => {
    for (const span of children.get(parent) ?? []) {
      lines.push(line(span, depth, start));
      walk(span.spanId, depth + 1);
    }
  };
  walk(null, 0);
  return lines.join("\n");
}
