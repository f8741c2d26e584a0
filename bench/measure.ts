// The measurement module every benchmark shares: flags, percentiles (an HDR histogram),
// CPU and memory accounting, a closed-loop load generator, tables and `figure` lines.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { createHistogram, type RecordableHistogram } from "node:perf_hooks";
import { parseArgs } from "node:util";

// ---- flags -----------------------------------------------------------------------------

type FlagValue = number | string | boolean;
const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * `--kebab-case` flags typed by their defaults; `--quick` swaps in the quick defaults
 * (smaller sizes) for every flag not given. `--help` prints them.
 */
export function flags<T extends Record<string, FlagValue>>(
  about: string,
  defaults: T,
  quick: Partial<T> = {},
): T & { quick: boolean } {
  const options: Record<string, { type: "string" | "boolean" }> = {
    quick: { type: "boolean" },
    help: { type: "boolean" },
  };
  for (const [name, value] of Object.entries(defaults))
    options[kebab(name)] = { type: typeof value === "boolean" ? "boolean" : "string" };
  const args = process.argv.slice(2).filter((arg) => arg !== "--");
  const { values } = parseArgs({ args, options, strict: true });
  if (values.help) {
    console.log(`${about}\n`);
    for (const [name, value] of Object.entries(defaults))
      console.log(
        `  --${kebab(name)} ${typeof value === "boolean" ? "" : `(default ${value}, quick ${quick[name] ?? value})`}`,
      );
    process.exit(0);
  }
  const chosen = Boolean(values.quick);
  const result: Record<string, FlagValue> = { quick: chosen };
  for (const [name, fallback] of Object.entries(defaults)) {
    const given = values[kebab(name)];
    const base = chosen && quick[name] !== undefined ? (quick[name] as FlagValue) : fallback;
    if (given === undefined) result[name] = base;
    else if (typeof fallback === "number") {
      const parsed = Number(String(given).replaceAll("_", ""));
      if (!Number.isFinite(parsed)) throw new Error(`--${kebab(name)} takes a number, got ${given}`);
      result[name] = parsed;
    } else result[name] = given as FlagValue;
  }
  return result as T & { quick: boolean };
}

// ---- latencies -------------------------------------------------------------------------

export interface Summary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
}

/** Durations in ms kept in Node's HDR histogram (nanosecond integers, 3 significant digits). */
export class Latencies {
  readonly histogram: RecordableHistogram = createHistogram();
  record(ms: number): void {
    this.histogram.record(Math.max(1, Math.round(ms * 1e6)));
  }
  summary(): Summary {
    const h = this.histogram;
    const ms = (ns: number) => (h.count === 0 ? Number.NaN : ns / 1e6);
    return {
      count: h.count,
      p50: ms(h.percentile(50)),
      p95: ms(h.percentile(95)),
      p99: ms(h.percentile(99)),
      mean: ms(h.mean),
      max: ms(h.max),
    };
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `fn` `warmup` times untimed, then `times` times each timed. */
export async function timeEach(times: number, warmup: number, fn: (i: number) => unknown): Promise<Latencies> {
  for (let i = 0; i < warmup; i++) await fn(i);
  const latencies = new Latencies();
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await fn(i);
    latencies.record(performance.now() - started);
  }
  return latencies;
}

// ---- load ------------------------------------------------------------------------------

export interface LoadResult {
  latencies: Latencies;
  completed: number;
  errors: number;
  errorSamples: string[];
  seconds: number;
  rps: number;
  /** Requests issued in all, warm-up included: the next free index. */
  issued: number;
}

/**
 * `clients` loops, each sending its next request when the last one answered (closed loop),
 * until `requests` were sent or `seconds` passed; `warmup` requests first, not recorded.
 * `send` gets the client and a running index (warm-up included) and throws on a bad answer.
 */
export async function runLoad(
  plan: { clients: number; requests: number; seconds?: number; warmup?: number; firstIndex?: number },
  send: (client: number, index: number) => Promise<unknown>,
): Promise<LoadResult> {
  let index = plan.firstIndex ?? 0;
  const result: LoadResult = {
    latencies: new Latencies(),
    completed: 0,
    errors: 0,
    errorSamples: [],
    seconds: 0,
    rps: 0,
    issued: 0,
  };
  const phase = async (total: number, seconds: number, record: boolean) => {
    let sent = 0;
    const deadline = performance.now() + seconds * 1000;
    const loop = async (client: number) => {
      while (sent < total && performance.now() < deadline) {
        sent++;
        const started = performance.now();
        try {
          await send(client, index++);
          if (record) result.latencies.record(performance.now() - started);
          if (record) result.completed++;
        } catch (error) {
          result.errors++;
          if (result.errorSamples.length < 5) result.errorSamples.push((error as Error).message);
        }
      }
    };
    await Promise.all(Array.from({ length: plan.clients }, (_, client) => loop(client)));
  };
  if (plan.warmup) await phase(plan.warmup, Number.POSITIVE_INFINITY, false);
  const started = performance.now();
  await phase(plan.requests, plan.seconds ?? Number.POSITIVE_INFINITY, true);
  result.seconds = (performance.now() - started) / 1000;
  result.rps = result.completed / result.seconds;
  result.issued = index - (plan.firstIndex ?? 0);
  return result;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** Keep-alive node:http requests to one origin (lighter than fetch for a load generator). */
export function keepAliveClient(origin: string, sockets: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  const base = new URL(origin);
  return {
    request(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<HttpAnswer> {
      return new Promise((resolve, reject) => {
        const req = httpRequest({ agent, host: base.hostname, port: base.port, method, path, headers }, (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () =>
            resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
          );
        });
        req.on("error", reject);
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}

// ---- CPU and memory --------------------------------------------------------------------

const CLOCK_TICKS = 100; // USER_HZ, 100 on Linux

function statFields(pid: number | string): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number {
  const fields = statFields(pid);
  return fields ? (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS : 0;
}

/** This process's CPU seconds, every thread (WebCrypto's and libuv's pool too). */
export function ownCpuSeconds(): number {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1e6;
}

/**
 * A reader of the CPU seconds of the PostgreSQL server working for `database`: its backends
 * (their title names the database) and the server's background processes. A process that
 * exits keeps its last reading, so the count never goes back.
 */
export function postgresCpu(database: string): () => number {
  const seen = new Map<string, number>();
  return () => {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (!readFileSync(`/proc/${entry}/stat`, "utf8").includes("(postgres)")) continue;
        const title = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
        const ours =
          title.includes(` ${database} `) ||
          /: (checkpointer|background writer|walwriter|autovacuum launcher)/.test(title) ||
          !title.startsWith("postgres:");
        if (ours) seen.set(entry, processCpuSeconds(Number(entry)));
      } catch {
        // the process ended meanwhile
      }
    }
    return [...seen.values()].reduce((sum, x) => sum + x, 0);
  };
}

function machineTicks(): { busy: number; total: number } {
  const values = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1, 9).map(Number);
  const total = values.reduce((sum, x) => sum + x, 0);
  return { busy: total - (values[3] ?? 0) - (values[4] ?? 0), total };
}

export interface CpuUse {
  /** CPU seconds per source over the window. */
  seconds: Record<string, number>;
  /** Cores busy machine-wide, and by what no source accounts for. */
  machineCores: number;
  otherCores: number;
  wallSeconds: number;
}

/** Starts a CPU window over named sources (each a CPU-seconds reader); call the result to end it. */
export function cpuWindow(sources: Record<string, () => number>): () => CpuUse {
  const before = Object.fromEntries(Object.entries(sources).map(([name, read]) => [name, read()]));
  const machineBefore = machineTicks();
  const started = performance.now();
  return () => {
    const wallSeconds = (performance.now() - started) / 1000;
    const seconds = Object.fromEntries(
      Object.entries(sources).map(([name, read]) => [name, read() - (before[name] ?? 0)]),
    );
    const machine = machineTicks();
    const cores = availableParallelism();
    const machineCores =
      ((machine.busy - machineBefore.busy) / Math.max(1, machine.total - machineBefore.total)) * cores;
    const accounted = Object.values(seconds).reduce((sum, x) => sum + x, 0) / wallSeconds;
    return { seconds, machineCores, otherCores: Math.max(0, machineCores - accounted), wallSeconds };
  };
}

/** One line: cores busy per source and machine-wide. */
export function describeCpu(use: CpuUse): string {
  const parts = Object.entries(use.seconds).map(([name, s]) => `${name} ${(s / use.wallSeconds).toFixed(2)}`);
  return `cores busy: ${parts.join(", ")}, other ${use.otherCores.toFixed(2)} (machine ${use.machineCores.toFixed(2)} of ${availableParallelism()})`;
}

function statusKb(pid: number, field: "VmHWM" | "VmRSS"): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) : Number.NaN;
}

/** Peak resident memory of a process since it started or since resetPeakRss, MB. */
export const peakRssMb = (pid: number) => statusKb(pid, "VmHWM") / 1024;
export const rssMb = (pid: number) => statusKb(pid, "VmRSS") / 1024;
/** Starts a new peak from the current RSS (Linux, own processes or root). */
export function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
}

// ---- output ----------------------------------------------------------------------------

/** The machine the figures come from. */
export function machine() {
  return {
    cpus: availableParallelism(),
    model: cpus()[0]?.model.trim() ?? "unknown",
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    date: new Date().toISOString().slice(0, 16).replace("T", " "),
    load: loadavg()[0]?.toFixed(2) ?? "?",
  };
}

export function printMachine(title: string): void {
  const m = machine();
  console.log(`${title}: ${m.cpus} CPUs (${m.model}), ${m.memoryGb} GB, node ${m.node}, load average ${m.load}`);
}

/** A table with right-aligned numbers. */
export function printTable(head: string[], rows: Array<Array<string | number>>): void {
  const cells = rows.map((row) => row.map((cell) => (typeof cell === "number" ? formatValue(cell) : cell)));
  const widths = head.map((title, i) => Math.max(title.length, ...cells.map((row) => (row[i] ?? "").length)));
  const line = (row: string[], numeric: boolean[]) =>
    `  ${row.map((cell, i) => (numeric[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join("  ")}`;
  console.log(
    line(
      head,
      head.map((_, i) => i > 0),
    ),
  );
  for (const [r, row] of cells.entries())
    console.log(
      line(
        row,
        (rows[r] ?? []).map((cell) => typeof cell === "number"),
      ),
    );
}

/** Four significant digits, whole numbers from 1,000 up. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return String(Math.abs(value) >= 1000 ? Math.round(value) : Number(value.toPrecision(4)));
}

/**
 * Prints `figure <name> <value> <unit>`; with a baseline, also `baseline <name> <baseline
 * figure>`: the figure measured in the same run to read this one against.
 */
export function figure(name: string, value: number, unit: string, baseline?: string): void {
  console.log(`figure ${name} ${formatValue(value)} ${unit}`);
  if (baseline) console.log(`baseline ${name} ${baseline}`);
}

/** A latency summary as figures `<prefix>_p50`, `_p95`, … in ms. */
export function latencyFigures(
  prefix: string,
  summary: Summary,
  which: Array<keyof Summary> = ["p50", "p95", "p99"],
  baselinePrefix?: string,
): void {
  for (const key of which) figure(`${prefix}_${key}`, summary[key], "ms", baselinePrefix && `${baselinePrefix}_${key}`);
}
