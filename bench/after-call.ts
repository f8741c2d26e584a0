// Benchmark: the after-call workflow of the whole local product, as `npm start` runs it:
// a signed voice status callback → the API's webhook → the local Inngest executor → the
// call-completed and deliver-message functions (at the API's /api/inngest) → the WhatsApp
// request at the Twilio sandbox → the sandbox's signed status callbacks → the job final.
//
// Two processes:
//   - this one: the product, composed as apps/api/src/main.ts composes it in local mode
//     (embedded PGlite under a fresh temporary DATA_DIR, migrated and seeded; the dev token
//     issuer; the Twilio sandbox; the dev executor; createApp with the same options, served
//     by @hono/node-server on a free port of 127.0.0.1; the functions synced with PUT
//     /api/inngest). All of it shares one event loop, as in the product. The bench holds
//     the sandbox object, so it reads when each WhatsApp request reached the sandbox;
//   - the load generator (child): signs the voice callbacks with the twilio SDK before
//     each phase, then posts them over keep-alive connections.
//
// Phases (every call: a missed call from a distinct caller ending in 3–9, the sandbox's
// "delivered" scenario, to one of --orgs businesses in turn):
//   1. latency: --calls callbacks at --rate calls/s (after --warmup not recorded). For each:
//      webhook received (app.fetch entry) → WhatsApp create request at the sandbox
//      (SandboxMessage.createdAt), both read from this process's wall clock; the stretch in
//      between is split with the rows' timestamps (same clock: PGlite runs in this process).
//   2. burst: --burst callbacks posted as fast as the webhook takes them (--concurrency
//      connections, each posting its next callback when the last one was answered), then
//      the time until every job is final (delivered/failed/skipped) as calls/s, and the
//      peak RSS of this process (the API's) during the burst.
// It prints figures; it does not pass or fail.
//
//   npx tsx after-call.ts [--calls 200] [--rate 2] [--warmup 10] [--burst 1000]
//                         [--concurrency 32] [--orgs 12] [--timeout 600]
//                         [--only latency|burst] [--profile] [--log-level info] [--keep-data]

import { type ChildProcess, fork } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { Database } from "@callflow/db";
import type { SandboxMessage, TwilioSandbox } from "@callflow/devstack";

// ---------------------------------------------------------------------------------------
// Options

interface Options {
  /** Latency phase: recorded calls, their rate, and calls before them not recorded. */
  calls: number;
  rate: number;
  warmup: number;
  /** Burst phase: calls and connections. */
  burst: number;
  concurrency: number;
  /** Businesses the calls go to in turn (see THROTTLE below). */
  orgs: number;
  /** How long a phase may take to get every job final, seconds. */
  timeoutSeconds: number;
  only: "latency" | "burst" | null;
  /** CPU-profile the API process during the burst (node:inspector) and print where the time went. */
  profile: boolean;
  /** The API's log level; default LOG_LEVEL or main.ts's default (info). Lines go to <DATA_DIR>/api.log. */
  logLevel: "debug" | "info" | "warn" | "error" | "silent" | null;
  keepData: boolean;
}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    calls: 200,
    rate: 2,
    warmup: 10,
    burst: 1_000,
    concurrency: 32,
    orgs: 12,
    timeoutSeconds: 600,
    only: null,
    profile: false,
    logLevel: null,
    keepData: false,
  };
  const count = (text: string, flag: string): number => {
    const parsed = Number(text.replaceAll("_", ""));
    if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`${flag} must be a whole number, got ${text}`);
    return parsed;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = (argv[i] ?? "").split("=", 2) as [string, string | undefined];
    const arg = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined || next.startsWith("--")) throw new Error(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case "--": // `pnpm bench:after-call -- --burst 500`
        break;
      case "--calls":
        options.calls = Math.max(1, count(arg(), flag));
        break;
      case "--rate": {
        const rate = Number(arg());
        if (!Number.isFinite(rate) || rate <= 0) throw new Error("--rate must be a positive number of calls/s");
        options.rate = rate;
        break;
      }
      case "--warmup":
        options.warmup = count(arg(), flag);
        break;
      case "--burst":
        options.burst = Math.max(1, count(arg(), flag));
        break;
      case "--concurrency":
        options.concurrency = Math.max(1, count(arg(), flag));
        break;
      case "--orgs":
        options.orgs = Math.min(MAX_ORGS, Math.max(1, count(arg(), flag)));
        break;
      case "--timeout":
        options.timeoutSeconds = Math.max(10, count(arg(), flag));
        break;
      case "--only": {
        const only = arg();
        if (only !== "latency" && only !== "burst") throw new Error("--only takes latency or burst");
        options.only = only;
        break;
      }
      case "--profile":
        options.profile = true;
        break;
      case "--log-level": {
        const level = arg();
        if (!["debug", "info", "warn", "error", "silent"].includes(level))
          throw new Error("--log-level takes debug, info, warn, error or silent");
        options.logLevel = level as Options["logLevel"];
        break;
      }
      case "--keep-data":
        options.keepData = true;
        break;
      case "--help":
      case "-h":
        console.log(
          "usage: tsx after-call.ts [--calls N] [--rate CALLS_PER_S] [--warmup N] [--burst N] [--concurrency N]\n" +
            `                         [--orgs N (1..${MAX_ORGS})] [--timeout SECONDS] [--only latency|burst] [--profile]\n` +
            "                         [--log-level debug|info|warn|error|silent] [--keep-data]",
        );
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument: ${argv[i]}`);
    }
  }
  return options;
}

// ---------------------------------------------------------------------------------------
// Shared bits

const LOCAL_ACCOUNT_SID = `AC${"0".repeat(32)}`;
/** main.ts's sandbox token when TWILIO_AUTH_TOKEN is unset. */
const DEFAULT_SANDBOX_TOKEN = "callflow-local-sandbox-token";
const WEBHOOK_PATH = "/webhooks/twilio/voice";
/** The seeded business (growth plan) and its main line: the first of the bench's businesses. */
const DEMO_ORG = "org_demo_northside_plumbing";
const DEMO_NUMBER = "+15125550100";
const MAX_ORGS = 50;
/**
 * call-completed's throttle (inngest/src/functions/call-completed.ts): 120 runs a minute per
 * business; more start later. A burst to one business is paced by it on purpose, so the
 * bench spreads its calls over --orgs businesses, each under the limit.
 */
const THROTTLE_PER_MINUTE = 120;
/** Distinct callers: +1 737 555 <3 digits><3..9>. */
const MAX_CALLERS = 7_000;
const FINAL_STATUSES = ["delivered", "failed", "skipped"];
const GOAL_P95_MS = 300;
const GOAL_RATE = 50;

const fmtInt = (n: number): string => n.toLocaleString("en-US");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length); // nearest rank
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

interface Stats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
}

function stats(samples: number[]): Stats {
  const sorted = Float64Array.from(samples).sort();
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    mean: samples.reduce((sum, x) => sum + x, 0) / Math.max(1, samples.length),
    max: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN,
  };
}

/** The business number of bench business k (k = 0: the seeded demo business). */
const businessNumber = (k: number) => (k === 0 ? DEMO_NUMBER : `+1512555${String(200 + k).padStart(4, "0")}`);
const businessOrg = (k: number) => (k === 0 ? DEMO_ORG : `org_bench_after_call_${k}`);

/** Caller i of the run: distinct numbers whose last digit is 3..9 (the sandbox delivers on WhatsApp). */
function callerOf(i: number): string {
  if (i >= MAX_CALLERS) throw new Error(`at most ${MAX_CALLERS} distinct callers`);
  return `+1737555${String(Math.floor(i / 7)).padStart(3, "0")}${3 + (i % 7)}`;
}

/** CallSid: CA + 8 hex of the run + 2 hex of the phase + 22 hex of the index (CA + 32 hex, as Twilio's). */
const callSidOf = (runTag: string, phase: number, index: number) =>
  `CA${runTag}${phase.toString(16).padStart(2, "0")}${index.toString(16).padStart(22, "0")}`;
const phasePrefix = (runTag: string, phase: number) => `CA${runTag}${phase.toString(16).padStart(2, "0")}`;

interface CallSpec {
  callSid: string;
  from: string;
  to: string;
}

// ---------------------------------------------------------------------------------------
// The load generator (child process): pre-signed callbacks, posted at a rate or as fast as
// the webhook answers over N connections.

interface LoadJob {
  apiUrl: string;
  /** What the webhook's signature covers: PUBLIC_URL + path. */
  publicUrl: string;
  authToken: string;
  calls: CallSpec[];
  /** rate: one call every 1/rate s, whatever the answers (open loop); closed: N connections. */
  mode: "rate" | "closed";
  rate: number;
  concurrency: number;
}

interface LoadResult {
  /** Webhook answer times (post → 200 `<Response/>`), ms. */
  latencies: number[];
  completed: number;
  errors: number;
  errorSamples: string[];
  elapsedMs: number;
  eventLoopUtilization: number;
}

type LoadCommand = { command: "prepare"; job: LoadJob } | { command: "fire" };

interface Prepared {
  body: Buffer;
  headers: Record<string, string>;
}

let preparedJob: LoadJob | null = null;
let prepared: Prepared[] = [];

async function prepareLoadJob(job: LoadJob): Promise<{ signingMs: number }> {
  const { default: twilio } = await import("twilio");
  const started = performance.now();
  const at = new Date().toUTCString().replace("GMT", "+0000");
  prepared = job.calls.map((call) => {
    // A final status callback of a missed call, with the fields Twilio posts.
    const params: Record<string, string> = {
      AccountSid: LOCAL_ACCOUNT_SID,
      ApiVersion: "2010-04-01",
      CallSid: call.callSid,
      CallStatus: "no-answer",
      CallDuration: "0",
      Duration: "0",
      CallbackSource: "call-progress-events",
      SequenceNumber: "0",
      Timestamp: at,
      Direction: "inbound",
      From: call.from,
      Caller: call.from,
      FromCity: "AUSTIN",
      FromState: "TX",
      FromZip: "78701",
      FromCountry: "US",
      To: call.to,
      Called: call.to,
      ToCountry: "US",
    };
    const body = Buffer.from(new URLSearchParams(params).toString());
    return {
      body,
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "content-length": String(body.length),
        "x-twilio-signature": twilio.getExpectedTwilioSignature(
          job.authToken,
          `${job.publicUrl}${WEBHOOK_PATH}`,
          params,
        ),
        // The bench's key for the receive time (Twilio sends a token of its own here).
        "i-twilio-idempotency-token": call.callSid,
        "user-agent": "TwilioProxy/1.1",
      },
    };
  });
  preparedJob = job;
  return { signingMs: performance.now() - started };
}

async function fireLoadJob(): Promise<LoadResult> {
  const job = preparedJob;
  if (!job) throw new Error("nothing prepared");
  const target = new URL(job.apiUrl);
  const sockets = job.mode === "closed" ? job.concurrency : 64;
  const agent = new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  const post = (item: Prepared) =>
    new Promise<void>((resolve, reject) => {
      const request = httpRequest(
        { agent, host: target.hostname, port: target.port, method: "POST", path: WEBHOOK_PATH, headers: item.headers },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => {
            const body = Buffer.concat(chunks).toString("utf8");
            if (response.statusCode !== 200) reject(new Error(`HTTP ${response.statusCode}: ${body.slice(0, 200)}`));
            else if (!body.includes("<Response/>"))
              reject(new Error(`HTTP 200 without <Response/>: ${body.slice(0, 200)}`));
            else resolve();
          });
        },
      );
      request.setTimeout(30_000, () => request.destroy(new Error("no answer within 30 s")));
      request.on("error", reject);
      request.end(item.body);
    });

  const result: LoadResult = {
    latencies: [],
    completed: 0,
    errors: 0,
    errorSamples: [],
    elapsedMs: 0,
    eventLoopUtilization: 0,
  };
  const one = async (item: Prepared) => {
    const started = performance.now();
    try {
      await post(item);
      result.latencies.push(performance.now() - started);
      result.completed++;
    } catch (error) {
      result.errors++;
      if (result.errorSamples.length < 5) result.errorSamples.push((error as Error).message);
    }
  };
  const elu = performance.eventLoopUtilization();
  const started = performance.now();
  if (job.mode === "rate") {
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < prepared.length; i++) {
      const due = started + (i * 1000) / job.rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      inFlight.push(one(prepared[i] as Prepared));
    }
    await Promise.all(inFlight);
  } else {
    let next = 0;
    const loop = async () => {
      while (next < prepared.length) await one(prepared[next++] as Prepared);
    };
    await Promise.all(Array.from({ length: job.concurrency }, loop));
  }
  result.elapsedMs = performance.now() - started;
  result.eventLoopUtilization = performance.eventLoopUtilization(elu).utilization;
  agent.destroy();
  return result;
}

// ---------------------------------------------------------------------------------------
// CPU accounting from /proc (Linux): who used the machine's cores during a phase.

const CLOCK_TICKS = 100; // USER_HZ; `getconf CLK_TCK` is 100 on Linux

interface CpuSnapshot {
  at: number;
  machineBusy: number;
  machineTotal: number;
  api: number;
  loadGenerator: number;
}

function processTicks(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return 0;
  }
}

function cpuSnapshot(loadGeneratorPid: number | undefined): CpuSnapshot | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    const values = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = values.reduce((sum, x) => sum + x, 0);
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    return {
      at: performance.now(),
      machineBusy: total - idle,
      machineTotal: total,
      api: processTicks(process.pid),
      loadGenerator: processTicks(loadGeneratorPid),
    };
  } catch {
    return undefined;
  }
}

interface CpuUse {
  machine: number;
  api: number;
  loadGenerator: number;
  other: number;
  seconds: number;
}

function cpuUse(before: CpuSnapshot | undefined, after: CpuSnapshot | undefined): CpuUse | undefined {
  if (!before || !after) return undefined;
  const seconds = (after.at - before.at) / 1000;
  const machine =
    ((after.machineBusy - before.machineBusy) / Math.max(1, after.machineTotal - before.machineTotal)) *
    availableParallelism();
  const cores = (ticks: number) => ticks / CLOCK_TICKS / seconds;
  const api = cores(after.api - before.api);
  const loadGenerator = cores(after.loadGenerator - before.loadGenerator);
  return { machine, api, loadGenerator, other: Math.max(0, machine - api - loadGenerator), seconds };
}

function describeCpu(use: CpuUse, calls: number): string {
  const per = (cores: number) => ((cores * use.seconds * 1000) / Math.max(1, calls)).toFixed(2);
  return (
    `CPU (cores busy, of ${availableParallelism()}, over ${use.seconds.toFixed(1)} s): machine ${use.machine.toFixed(2)} = ` +
    `API process ${use.api.toFixed(2)} + load generator ${use.loadGenerator.toFixed(2)} + other ${use.other.toFixed(2)}; ` +
    `CPU ms per call: API process ${per(use.api)}, load generator ${per(use.loadGenerator)}`
  );
}

// ---------------------------------------------------------------------------------------
// Memory: the API process is this one.

function vmHwmKb(): number | null {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** Resets VmHWM to the current RSS (Linux >= 4.0: `echo 5 > /proc/<pid>/clear_refs`). */
function resetPeakRss(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

// ---------------------------------------------------------------------------------------
// Spans timed at the API's front door: app.fetch per route, while recording.

interface RouteSpans {
  on: boolean;
  byRoute: Map<string, number[]>;
}

function routeOf(method: string, url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const query = url.indexOf("?", start);
  const path = url.slice(start, query === -1 ? undefined : query);
  if (path === "/api/inngest") {
    const fnId = /[?&]fnId=([^&]+)/.exec(url)?.[1];
    return `${method} ${path}${fnId ? ` (${decodeURIComponent(fnId).replace(/^callflow-/, "")})` : ""}`;
  }
  return `${method} ${path.startsWith("/trpc/") ? "/trpc/*" : path}`;
}

// ---------------------------------------------------------------------------------------
// CPU profile summary (--profile): self time by where the code comes from.

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));

function bucketOf(frame: ProfileNode["callFrame"]): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === "(idle)") return "(idle: event loop waiting)";
    if (functionName === "(garbage collector)") return "garbage collector";
    if (functionName === "(program)") return "(program: native work V8 does not attribute)";
    return "native builtins";
  }
  if (url.startsWith("wasm://")) return "PGlite: Postgres (WASM)";
  if (url.startsWith("node:")) return "Node.js internals (http, fetch/undici, streams, crypto, timers)";
  const modules = url.lastIndexOf("/node_modules/");
  if (modules !== -1) {
    const rest = url.slice(modules + "/node_modules/".length).split("/");
    const name = rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : (rest[0] ?? "?");
    if (name === "@electric-sql/pglite") return "PGlite: JS side";
    if (name === "inngest" || name.startsWith("@inngest/")) return "Inngest SDK";
    if (name === "hono" || name === "@hono/node-server") return "Hono + @hono/node-server";
    if (name === "twilio" || name === "axios" || name === "follow-redirects" || name === "form-data")
      return "twilio SDK + axios";
    return `dependency ${name}`;
  }
  const path = url.replace(/^file:\/\//, "");
  if (path.startsWith(REPO_ROOT)) {
    const relative = path.slice(REPO_ROOT.length).split("/");
    const area = relative[0] === "packages" || relative[0] === "apps" ? `${relative[0]}/${relative[1]}` : relative[0];
    return `CallFlow ${area}`;
  }
  return "other JS";
}

function summarizeProfile(profile: CpuProfile): { total: number; buckets: Array<[string, number]>; top: string[] } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    // The delta before the next sample is the time this one stood for.
    const ms = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000;
    selfMs.set(samples[i] as number, (selfMs.get(samples[i] as number) ?? 0) + ms);
  }
  const buckets = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of selfMs) {
    const node = byId.get(id);
    if (!node) continue;
    total += ms;
    const bucket = bucketOf(node.callFrame);
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + ms);
    const where = node.callFrame.url ? node.callFrame.url.split("/").slice(-1)[0] : "";
    const key = `${node.callFrame.functionName || "(anonymous)"}${where ? ` ${where}:${node.callFrame.lineNumber + 1}` : ""}`;
    functions.set(key, (functions.get(key) ?? 0) + ms);
  }
  const top = [...functions.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(2)} s`);
  return { total, buckets: [...buckets.entries()].sort((a, b) => b[1] - a[1]), top };
}

// ---------------------------------------------------------------------------------------
// Reporting

const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : "-").padStart(8);

function header(label = "ms"): string {
  return `  ${label.padEnd(52)} ${"n".padStart(6)} ${"p50".padStart(8)} ${"p95".padStart(8)} ${"p99".padStart(8)} ${"mean".padStart(8)} ${"max".padStart(8)}`;
}

function statRow(label: string, samples: number[]): string {
  const s = stats(samples);
  return `  ${label.padEnd(52)} ${String(s.n).padStart(6)} ${ms(s.p50)} ${ms(s.p95)} ${ms(s.p99)} ${ms(s.mean)} ${ms(s.max)}`;
}

// ---------------------------------------------------------------------------------------
// Main

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** One call's timestamps (epoch ms, this process's clock). */
interface CallTimes {
  callSid: string;
  from: string;
  received: number | undefined;
  logged: number | null;
  callEvent: number | null;
  jobWritten: number | null;
  jobStatus: string | null;
  finalChannel: string | null;
  jobEvent: number | null;
  claimed: number | null;
  atSandbox: number | undefined;
  completed: number | null;
}

async function main(options: Options): Promise<void> {
  // The product's modules load here only: the load generator stays small.
  const [
    { migrate, seedOnce, startEmbeddedDatabase },
    { startDevExecutor, startTwilioSandbox },
    { createFunctions, createInngestClient, sendWith, startOutboxRelay },
    { createTwilioMessaging, statusCallbackUrls },
    { serve },
    { sql },
    { chooseAuth },
    { apiEnv },
    { createApp },
    { createLog },
  ] = await Promise.all([
    import("@callflow/db"),
    import("@callflow/devstack"),
    import("@callflow/inngest"),
    import("@callflow/providers"),
    import("@hono/node-server"),
    import("kysely"),
    import("../apps/api/src/auth/auth-mode.ts"),
    import("../apps/api/src/env.ts"),
    import("../apps/api/src/http/app.ts"),
    import("../apps/api/src/log.ts"),
  ]);

  const env = apiEnv();
  const webOrigins = env.WEB_ORIGIN ?? [`http://localhost:${env.WEB_PORT}`];
  const cpus = availableParallelism();
  const logLevel = options.logLevel ?? env.LOG_LEVEL;
  const phases = options.only ? [options.only] : ["latency", "burst"];
  const totalCalls =
    1 +
    (phases.includes("latency") ? options.warmup + options.calls : 0) +
    (phases.includes("burst") ? options.burst : 0);
  if (totalCalls > MAX_CALLERS)
    throw new Error(`at most ${MAX_CALLERS} calls in a run (distinct callers); asked ${totalCalls}`);
  console.log(
    `after-call bench: the local product (embedded PGlite, dev executor, Twilio sandbox, API in one process, as ` +
      `\`npm start\` runs it), log level ${logLevel}, node ${process.version}; ${options.orgs} businesses, ` +
      `missed calls from distinct callers ending in 3-9 (WhatsApp delivered)`,
  );
  console.log(
    `machine: ${cpus} CPUs, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}. The ${cpus} cores are shared by the product (this process: API, PGlite, executor, sandbox), ` +
      "the load generator (child process) and anything else running: the figures are those of one small box.",
  );

  const dataDir = mkdtempSync(join(tmpdir(), "callflow-bench-after-call-"));
  const logPath = join(dataDir, "api.log");
  const logFile = createWriteStream(logPath);
  const logCounts = { lines: 0, warn: 0, error: 0, samples: [] as string[] };
  const writeLog = (line: string): boolean => {
    // A request still finishing while the product stops logs after the file closed.
    if (logFile.writableEnded) return true;
    logCounts.lines++;
    if (line.startsWith('{"level":"error"') || line.startsWith('{"level":"warn"')) {
      if (line.startsWith('{"level":"error"')) logCounts.error++;
      else logCounts.warn++;
      if (logCounts.samples.length < 5) logCounts.samples.push(line.trim().slice(0, 300));
    }
    return logFile.write(line);
  };

  const children: ChildProcess[] = [];
  const stops: Array<() => Promise<void>> = [];
  let profileSession: import("node:inspector/promises").Session | null = null;
  try {
    // ---- the product, as main.ts composes it in local mode
    const startup = performance.now();
    const log = createLog(logLevel, { service: "api" }, writeLog);
    const embedded = await startEmbeddedDatabase({ dataDir, port: null });
    stops.unshift(() => embedded.stop());
    const database: Database = embedded.database;
    const { applied } = await migrate(database);
    const seeded = await seedOnce(database);
    const { verifySession, devIssuer } = chooseAuth({
      dataDir,
      authorizedParties: env.CLERK_AUTHORIZED_PARTIES ?? webOrigins,
    });
    if (!devIssuer) throw new Error("no dev token issuer");
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const signingKey = `signkey-local-${randomBytes(32).toString("hex")}`;
    const twilioAuthToken = env.TWILIO_AUTH_TOKEN ?? DEFAULT_SANDBOX_TOKEN;
    const sandbox: TwilioSandbox = await startTwilioSandbox({
      accountSid: LOCAL_ACCOUNT_SID,
      authToken: twilioAuthToken,
      port: 0,
    });
    stops.unshift(() => sandbox.stop());
    const messaging = createTwilioMessaging({
      accountSid: LOCAL_ACCOUNT_SID,
      authToken: twilioAuthToken,
      baseUrl: sandbox.url,
    });
    const executor = await startDevExecutor({
      database,
      signingKey,
      eventKey: "local",
      port: 0,
      log: (line) => log.debug("executor", line),
    });
    stops.unshift(() => executor.stop());
    const inngest = createInngestClient({ eventKey: "local", signingKey, baseUrl: executor.url, isDev: false });
    const functions = createFunctions(inngest, {
      database,
      messaging,
      statusCallbacks: statusCallbackUrls({ publicUrl, authToken: twilioAuthToken }),
    });
    let functionsSynced = false;
    const app = createApp({
      database,
      verifySession,
      log,
      webOrigins,
      rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
      maxBodyBytes: env.MAX_BODY_BYTES,
      maxBatchSize: env.TRPC_MAX_BATCH,
      twilio: {
        authToken: twilioAuthToken,
        publicUrl,
        outbox: startOutboxRelay({ database, send: sendWith(inngest) }),
      },
      inngest: { client: inngest, functions, serveOrigin: publicUrl, signed: true },
      readinessProblem: () => (functionsSynced ? null : "functions not yet synced with the local executor"),
    });

    // The bench's only additions: the receive time of each voice callback (keyed by the
    // CallSid the load generator puts in I-Twilio-Idempotency-Token) and per-route spans.
    const received = new Map<string, number>();
    const spans: RouteSpans = { on: false, byRoute: new Map() };
    const timedFetch = async (request: Request, envArg: unknown) => {
      const started = performance.now();
      if (request.url.endsWith(WEBHOOK_PATH)) {
        const sid = request.headers.get("i-twilio-idempotency-token");
        if (sid) received.set(sid, Date.now());
      }
      const response = await app.fetch(request, envArg as never);
      if (spans.on) {
        const route = routeOf(request.method, request.url);
        const list = spans.byRoute.get(route) ?? [];
        if (list.length === 0) spans.byRoute.set(route, list);
        list.push(performance.now() - started);
      }
      return response;
    };
    const server = serve({ fetch: timedFetch as never, port, hostname: "127.0.0.1" });
    await new Promise<void>((resolve, reject) => {
      server.once("listening", () => resolve());
      server.once("error", reject);
    });
    stops.unshift(
      () =>
        new Promise<void>((resolve) => {
          if ("closeAllConnections" in server) server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const apiUrl = publicUrl;
    const sync = await fetch(`${apiUrl}/api/inngest`, { method: "PUT" });
    if (!sync.ok) throw new Error(`PUT /api/inngest: ${sync.status} ${await sync.text()}`);
    functionsSynced = true;
    const ready = await fetch(`${apiUrl}/readyz`);
    if (!ready.ok) throw new Error(`/readyz: ${ready.status} ${await ready.text()}`);
    const startupMs = performance.now() - startup;

    // ---- the businesses, through tRPC with dev tokens as an admin would set them up
    const trpc = async <T>(orgId: string, path: string, input: unknown): Promise<T> => {
      const token = devIssuer.issue({ orgId, role: "admin", userId: "user_bench_admin" });
      const response = await fetch(`${apiUrl}/trpc/${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(input),
      });
      const body = (await response.json()) as { result?: { data: T }; error?: { message: string } };
      if (!body.result) throw new Error(`${orgId} ${path}: ${body.error?.message ?? response.status}`);
      return body.result.data;
    };
    const setupStarted = performance.now();
    for (let k = 0; k < options.orgs; k++) {
      const orgId = businessOrg(k);
      // Every call gets a message at any hour: no cooldown, no quiet hours.
      await trpc(orgId, "settings.update", {
        ...(k === 0 ? {} : { timezone: "America/Chicago", trigger_outcomes: ["missed", "voicemail"] }),
        cooldown_seconds: 0,
        quiet_hours: null,
      });
      if (k === 0) continue;
      await trpc(orgId, "phoneNumbers.add", { e164: businessNumber(k), label: "Bench line" });
      await trpc(orgId, "templates.create", {
        name: "Missed call",
        trigger: "missed",
        language: "en",
        whatsappContentSid: `HX${createHash("md5").update(`bench missed ${k}`).digest("hex")}`,
        whatsappVariables: { "1": "{{business_name}}" },
        smsBody: "Hi, this is {{business_name}}. Sorry we missed your call; we will call you back shortly.",
      });
    }
    if (options.orgs > 1) {
      // Billing has no API yet: the plan is set as the seed sets the demo businesses'.
      const ids = Array.from({ length: options.orgs - 1 }, (_, i) => businessOrg(i + 1));
      await sql`
        insert into public.subscriptions (organization_id, plan, status, current_period_start, current_period_end)
        select id, 'growth', 'active', date_trunc('month', now()), date_trunc('month', now()) + interval '1 month'
          from unnest(${ids}::text[]) as id`.execute(database.owner);
    }
    console.log(
      `product up in ${(startupMs / 1000).toFixed(1)} s (DATA_DIR ${dataDir}: ${applied.length} migrations, ` +
        `${seeded ? "demo data seeded" : "seed already there"}; API ${apiUrl}, sandbox ${sandbox.url}, executor ${executor.url}); ` +
        `${options.orgs} businesses set up through tRPC in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s ` +
        `(${DEMO_ORG} and ${options.orgs - 1} more on the growth plan; cooldown 0, quiet hours off); ` +
        `API process RSS ${mb(process.memoryUsage().rss)} (heap used ${mb(process.memoryUsage().heapUsed)})`,
    );

    // ---- the load generator
    const script = fileURLToPath(import.meta.url);
    const childArgv = process.execArgv.filter((arg) => !arg.startsWith("--cpu-prof"));
    const loadGenerator = fork(script, ["--load-generator"], { execArgv: childArgv, stdio: "inherit" });
    children.push(loadGenerator);
    const ask = <T>(message: LoadCommand) =>
      new Promise<T>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`load generator exited (${code})`));
        loadGenerator.once("exit", onExit);
        loadGenerator.once("message", (reply: T | { error: string }) => {
          loadGenerator.off("exit", onExit);
          if (reply && typeof reply === "object" && "error" in reply) reject(new Error(reply.error));
          else resolve(reply as T);
        });
        loadGenerator.send(message);
      });

    const runTag = randomBytes(4).toString("hex");
    let nextCaller = 0;
    const allCalls: CallSpec[] = [];
    const makeCalls = (phase: number, n: number): CallSpec[] =>
      Array.from({ length: n }, (_, i) => {
        const call = {
          callSid: callSidOf(runTag, phase, i),
          from: callerOf(nextCaller),
          to: businessNumber(nextCaller % options.orgs),
        };
        nextCaller++;
        allCalls.push(call);
        return call;
      });
    const fire = async (calls: CallSpec[], mode: LoadJob["mode"]) => {
      await ask({
        command: "prepare",
        job: {
          apiUrl,
          publicUrl,
          authToken: twilioAuthToken,
          calls,
          mode,
          rate: options.rate,
          concurrency: options.concurrency,
        },
      });
      return ask<LoadResult>({ command: "fire" });
    };

    /** The first WhatsApp create request the sandbox received for each caller. */
    const sandboxSends = sandbox.sends as readonly SandboxMessage[];
    const firstWhatsApp = () => {
      const byCaller = new Map<string, number>();
      for (const send of sandboxSends) {
        if (send.channel === "whatsapp" && !byCaller.has(send.to)) byCaller.set(send.to, send.createdAt.getTime());
      }
      return byCaller;
    };

    interface Progress {
      calls: number;
      jobs: number;
      final: number;
      last: number | null;
    }
    /**
     * The phase's calls logged (by CallSid prefix) and its jobs: those written since the
     * phase began (every job of an earlier phase was final before it began). Two cheap
     * scans, not a join: it runs every 0.5 s during the burst, in the product's process.
     */
    const progress = async (prefix: string, since: number): Promise<Progress> => {
      const result = await sql<{ calls: number; jobs: number; final: number; last: Date | string | null }>`
        select (select count(*)::int from public.call_logs where call_sid like ${`${prefix}%`}) as calls,
               count(*)::int as jobs,
               count(*) filter (where status = any(${FINAL_STATUSES}))::int as final,
               max(completed_at) as last
          from public.message_jobs where created_at >= ${new Date(since)}`.execute(database.owner);
      const row = result.rows[0] as { calls: number; jobs: number; final: number; last: Date | string | null };
      return { ...row, last: row.last === null ? null : new Date(row.last).getTime() };
    };
    /** Polls until every job of the phase is final or the deadline passes. */
    const waitFinal = async (
      prefix: string,
      since: number,
      expected: number,
      deadline: number,
      intervalMs: number,
      onPoll?: (p: Progress) => void,
    ): Promise<Progress & { timedOut: boolean }> => {
      for (;;) {
        const p = await progress(prefix, since);
        onPoll?.(p);
        if (p.calls >= expected && p.final >= expected) return { ...p, timedOut: false };
        if (Date.now() > deadline) return { ...p, timedOut: true };
        await sleep(intervalMs);
      }
    };

    const toMs = (value: Date | string | null | undefined) =>
      value === null || value === undefined ? null : new Date(value).getTime();
    const callTimes = async (prefix: string): Promise<CallTimes[]> => {
      const sandboxAt = firstWhatsApp();
      const rows = await sql<{
        call_sid: string;
        from_number: string;
        logged_at: Date | string;
        call_event_at: Date | string | null;
        job_at: Date | string | null;
        job_status: string | null;
        final_channel: string | null;
        job_event_at: Date | string | null;
        claimed_at: Date | string | null;
        completed_at: Date | string | null;
      }>`
        select c.call_sid, c.from_number, c.created_at as logged_at, ec.received_at as call_event_at,
               j.created_at as job_at, j.status as job_status, j.final_channel, ej.received_at as job_event_at,
               m.created_at as claimed_at, j.completed_at
          from public.call_logs c
          left join devstack.inngest_events ec on ec.id = c.call_sid and ec.name = 'call/completed'
          left join public.message_jobs j on j.call_log_id = c.id
          left join devstack.inngest_events ej on ej.id = j.id::text and ej.name = 'message/job.created'
          left join public.messages m on m.job_id = j.id and m.channel = 'whatsapp'
         where c.call_sid like ${`${prefix}%`}`.execute(database.owner);
      return rows.rows.map((row) => ({
        callSid: row.call_sid,
        from: row.from_number,
        received: received.get(row.call_sid),
        logged: toMs(row.logged_at),
        callEvent: toMs(row.call_event_at),
        jobWritten: toMs(row.job_at),
        jobStatus: row.job_status,
        finalChannel: row.final_channel,
        jobEvent: toMs(row.job_event_at),
        claimed: toMs(row.claimed_at),
        atSandbox: sandboxAt.get(row.from_number),
        completed: toMs(row.completed_at),
      }));
    };
    const between = (
      rows: CallTimes[],
      from: (r: CallTimes) => number | null | undefined,
      to: (r: CallTimes) => number | null | undefined,
    ) =>
      rows.flatMap((r) => {
        const a = from(r);
        const b = to(r);
        return a === null || a === undefined || b === null || b === undefined ? [] : [b - a];
      });
    const executorRuns = async (since: number) => {
      const result = await sql<{ function_id: string; status: string; runs: number; throttled: number }>`
        select function_id, status, count(*)::int as runs, count(*) filter (where start_at > created_at)::int as throttled
          from devstack.inngest_runs where created_at >= ${new Date(since)}
         group by 1, 2 order by 1, 2`.execute(database.owner);
      // A wait that timed out resumes with { data: null } (no other step of the functions
      // returns null): the receipt came before the run waited for it, so the job became
      // final only at the fallback window, from the database's status.
      const waits = await sql<{ n: number }>`
        select count(*)::int as n
          from devstack.inngest_steps s join devstack.inngest_runs r on r.run_id = s.run_id
         where r.function_id = 'callflow-deliver-message' and r.created_at >= ${new Date(since)}
           and s.result = '{"data": null}'::jsonb`.execute(database.owner);
      return { rows: result.rows, timedOutWaits: waits.rows[0]?.n ?? 0 };
    };
    /**
     * PGlite's counters so far: transactions committed or rolled back (an autocommit
     * statement counts one), and rows written and table scans started in the executor's
     * schema (devstack) and the app's (public).
     */
    interface PgCounters {
      transactions: number;
      devstackWrites: number;
      publicWrites: number;
      devstackScans: number;
      publicScans: number;
    }
    const pgCounters = async (): Promise<PgCounters> => {
      await sql`select pg_stat_force_next_flush()`.execute(database.owner);
      const result = await sql<PgCounters>`
        select (select (xact_commit + xact_rollback)::int from pg_stat_database where datname = current_database()) as transactions,
               coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del) filter (where schemaname = 'devstack'), 0)::int as "devstackWrites",
               coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del) filter (where schemaname = 'public'), 0)::int as "publicWrites",
               coalesce(sum(seq_scan + coalesce(idx_scan, 0)) filter (where schemaname = 'devstack'), 0)::int as "devstackScans",
               coalesce(sum(seq_scan + coalesce(idx_scan, 0)) filter (where schemaname = 'public'), 0)::int as "publicScans"
          from pg_stat_user_tables`.execute(database.owner);
      return result.rows[0] as PgCounters;
    };
    const describePg = (before: PgCounters, after: PgCounters, calls: number) => {
      const per = (key: keyof PgCounters) => ((after[key] - before[key]) / calls).toFixed(1);
      return (
        `PGlite per call: ${per("transactions")} transactions (an autocommit statement counts one), ` +
        `rows written: executor (devstack) ${per("devstackWrites")}, app (public) ${per("publicWrites")}; ` +
        `table scans: devstack ${per("devstackScans")}, public ${per("publicScans")}`
      );
    };
    /** The sandbox's pending status callbacks posted and the executor's runs driven to their end (bounded). */
    const settle = async () => {
      await Promise.race([sandbox.whenIdle(), sleep(5_000)]);
      await Promise.race([executor.whenIdle(), sleep(10_000)]);
    };
    const describeRuns = ({ rows, timedOutWaits }: Awaited<ReturnType<typeof executorRuns>>) =>
      `${rows
        .map(
          (r) =>
            `${r.function_id.replace(/^callflow-/, "")} ${r.status} ${fmtInt(r.runs)}${r.throttled ? ` (${r.throttled} THROTTLED)` : ""}`,
        )
        .join(", ")}; WhatsApp waits timed out ${timedOutWaits}` +
      (timedOutWaits ? " (the receipt came before the run waited: final only at the fallback window)" : "");
    const printSpans = (seconds: number) => {
      console.log(header("inside app.fetch, per route (ms)"));
      const routes = [...spans.byRoute.entries()].sort((a, b) => b[1].length - a[1].length);
      for (const [route, samples] of routes) {
        const total = samples.reduce((sum, x) => sum + x, 0);
        console.log(`${statRow(route, samples)}  in flight ${(total / 1000 / seconds).toFixed(1)}`);
      }
    };

    // One call by hand first: the whole path works.
    const probe = makeCalls(0, 1);
    const probeStarted = Date.now();
    const probeResult = await fire(probe, "rate");
    if (probeResult.errors) throw new Error(`probe: ${probeResult.errorSamples.join("; ")}`);
    const probeFinal = await waitFinal(phasePrefix(runTag, 0), probeStarted, 1, Date.now() + 60_000, 100);
    const [probeTimes] = await callTimes(phasePrefix(runTag, 0));
    if (probeFinal.timedOut || !probeTimes || probeTimes.jobStatus !== "delivered")
      throw new Error(
        `probe call did not reach "delivered" in 60 s (job ${probeTimes?.jobStatus ?? "none"}); see ${logPath}`,
      );
    console.log(
      `probe call: HTTP 200, WhatsApp at the sandbox ${((probeTimes.atSandbox ?? Number.NaN) - (probeTimes.received ?? Number.NaN)).toFixed(0)} ms ` +
        `after the webhook received it, job delivered on ${probeTimes.finalChannel} after ${((probeTimes.completed ?? Number.NaN) - (probeTimes.received ?? Number.NaN)).toFixed(0)} ms`,
    );

    const summary: string[] = [];
    const goals: string[] = [];
    let checksOk = true;
    const checkLines: string[] = [];
    /** Exactly one WhatsApp send and no SMS per caller, a delivered job on WhatsApp per call. */
    const checkPhase = (name: string, calls: CallSpec[], rows: CallTimes[]) => {
      const callers = new Set(calls.map((c) => c.from));
      const whatsapp = new Map<string, number>();
      let sms = 0;
      for (const send of sandboxSends) {
        if (!callers.has(send.to)) continue;
        if (send.channel === "sms") sms++;
        else whatsapp.set(send.to, (whatsapp.get(send.to) ?? 0) + 1);
      }
      const oneEach = calls.every((c) => whatsapp.get(c.from) === 1);
      const delivered = rows.filter((r) => r.jobStatus === "delivered" && r.finalChannel === "whatsapp").length;
      const ok = rows.length === calls.length && delivered === calls.length && oneEach && sms === 0;
      if (!ok) checksOk = false;
      checkLines.push(
        `${name}: ${fmtInt(rows.length)} call logs for ${fmtInt(calls.length)} calls, ${fmtInt(delivered)} jobs delivered on WhatsApp, ` +
          `one WhatsApp request per caller at the sandbox: ${oneEach ? "yes" : "NO"}, SMS ${sms}: ${ok ? "ok" : "NOT OK"}`,
      );
    };

    // ---- 1. latency: one call every 1/rate s
    if (phases.includes("latency")) {
      const warm = makeCalls(1, options.warmup);
      const calls = makeCalls(2, options.calls);
      const perOrgPerMinute = (options.rate * 60) / options.orgs;
      console.log(
        `\n--- latency: ${fmtInt(options.calls)} calls at ${options.rate} calls/s (${(options.calls / options.rate).toFixed(0)} s) ` +
          `after ${options.warmup} warm-up calls; ${perOrgPerMinute.toFixed(0)} calls/min per business ` +
          `(throttle ${THROTTLE_PER_MINUTE}); load average ${loadavg()[0]?.toFixed(2)}`,
      );
      if (warm.length) {
        const warmStarted = Date.now();
        const warmResult = await fire(warm, "rate");
        if (warmResult.errors) console.log(`  warm-up errors: ${warmResult.errorSamples.join("; ")}`);
        await waitFinal(
          phasePrefix(runTag, 1),
          warmStarted,
          warm.length,
          Date.now() + options.timeoutSeconds * 1000,
          200,
        );
      }
      const pgBefore = await pgCounters();
      const phaseStart = Date.now();
      spans.byRoute.clear();
      spans.on = true;
      const before = cpuSnapshot(loadGenerator.pid);
      const elu = performance.eventLoopUtilization();
      const load = await fire(calls, "rate");
      const done = await waitFinal(
        phasePrefix(runTag, 2),
        phaseStart,
        calls.length,
        Date.now() + options.timeoutSeconds * 1000,
        200,
      );
      const apiElu = performance.eventLoopUtilization(elu).utilization;
      const cpu = cpuUse(before, cpuSnapshot(loadGenerator.pid));
      spans.on = false;
      const rows = await callTimes(phasePrefix(runTag, 2));
      const e2e = between(
        rows,
        (r) => r.received,
        (r) => r.atSandbox,
      );
      console.log(header("webhook received → ... (ms)"));
      console.log(statRow("→ WhatsApp request at the sandbox", e2e));
      console.log(
        statRow(
          "  webhook received → call log written (tx start)",
          between(
            rows,
            (r) => r.received,
            (r) => r.logged,
          ),
        ),
      );
      console.log(
        statRow(
          "  → call/completed stored by the executor",
          between(
            rows,
            (r) => r.logged,
            (r) => r.callEvent,
          ),
        ),
      );
      console.log(
        statRow(
          "  → job written (call-completed's decide step)",
          between(
            rows,
            (r) => r.callEvent,
            (r) => r.jobWritten,
          ),
        ),
      );
      console.log(
        statRow(
          "  → message/job.created stored",
          between(
            rows,
            (r) => r.jobWritten,
            (r) => r.jobEvent,
          ),
        ),
      );
      console.log(
        statRow(
          "  → WhatsApp attempt claimed (deliver-message)",
          between(
            rows,
            (r) => r.jobEvent,
            (r) => r.claimed,
          ),
        ),
      );
      console.log(
        statRow(
          "  → create request at the sandbox (twilio SDK)",
          between(
            rows,
            (r) => r.claimed,
            (r) => r.atSandbox,
          ),
        ),
      );
      console.log(statRow("webhook answered (load generator: post → 200)", load.latencies));
      console.log(
        statRow(
          "webhook received → job final (delivered)",
          between(
            rows,
            (r) => r.received,
            (r) => r.completed,
          ),
        ),
      );
      console.log(
        '  (the sandbox reports WhatsApp "delivered" 1,000 ms after it accepted the request: the last row includes it)',
      );
      printSpans((Date.now() - phaseStart) / 1000);
      if (cpu) console.log(`  ${describeCpu(cpu, calls.length)}`);
      console.log(
        `  event loop busy: API process ${(apiElu * 100).toFixed(0)}%, load generator ${(load.eventLoopUtilization * 100).toFixed(0)}%; ` +
          `webhook errors ${load.errors}${load.errorSamples.length ? ` (${load.errorSamples.join("; ")})` : ""}; ` +
          `all jobs final: ${done.timedOut ? `NO (${done.final} of ${calls.length} in ${options.timeoutSeconds} s)` : "yes"}`,
      );
      // The last status callbacks ("read", 1.3 s after the send) land and the runs end before counting.
      await settle();
      const pgAfter = await pgCounters();
      console.log(`  executor runs: ${describeRuns(await executorRuns(phaseStart))}`);
      console.log(`  ${describePg(pgBefore, pgAfter, calls.length)}`);
      checkPhase("latency", calls, rows);
      const s = stats(e2e);
      summary.push(
        `latency (${fmtInt(s.n)} calls at ${options.rate}/s): webhook received → WhatsApp at the sandbox p50 ${s.p50.toFixed(0)} ms, ` +
          `p95 ${s.p95.toFixed(0)} ms, p99 ${s.p99.toFixed(0)} ms, max ${s.max.toFixed(0)} ms`,
      );
      goals.push(
        `p95 <= ${GOAL_P95_MS} ms: ${s.p95 <= GOAL_P95_MS && s.n === calls.length ? "yes" : "no"} (${s.p95.toFixed(0)} ms)`,
      );
    }

    // ---- 2. burst: as fast as the webhook takes them, then until every job is final
    if (phases.includes("burst")) {
      const calls = makeCalls(3, options.burst);
      const perOrg = Math.ceil(options.burst / options.orgs);
      console.log(
        `\n--- burst: ${fmtInt(options.burst)} calls over ${options.concurrency} connections, ${perOrg} per business ` +
          `(throttle ${THROTTLE_PER_MINUTE}/min per business${perOrg > THROTTLE_PER_MINUTE ? ": OVER IT, runs beyond it start a minute later" : ""}); ` +
          `load average ${loadavg()[0]?.toFixed(2)}`,
      );
      const prefix = phasePrefix(runTag, 3);
      spans.byRoute.clear();
      const rssBefore = process.memoryUsage().rss;
      const hwmReset = resetPeakRss();
      let rssPeak = rssBefore;
      let heapAtPeak = process.memoryUsage().heapUsed;
      const sampler = setInterval(() => {
        const usage = process.memoryUsage();
        if (usage.rss > rssPeak) {
          rssPeak = usage.rss;
          heapAtPeak = usage.heapUsed;
        }
      }, 50);
      if (options.profile) {
        const { Session } = await import("node:inspector/promises");
        profileSession = new Session();
        profileSession.connect();
        await profileSession.post("Profiler.enable");
        await profileSession.post("Profiler.setSamplingInterval", { interval: 1000 });
        await profileSession.post("Profiler.start");
      }
      const pgBefore = await pgCounters();
      const before = cpuSnapshot(loadGenerator.pid);
      const elu = performance.eventLoopUtilization();
      const started = Date.now();
      spans.on = true;
      const timeline: string[] = [];
      let lastReport = started;
      const loadPromise = fire(calls, "closed");
      let load: LoadResult | null = null;
      void loadPromise.then((result) => {
        load = result;
      });
      const done = await waitFinal(prefix, started, calls.length, started + options.timeoutSeconds * 1000, 500, (p) => {
        const now = Date.now();
        if (now - lastReport >= 5_000) {
          lastReport = now;
          timeline.push(
            `t+${((now - started) / 1000).toFixed(0)} s: ${fmtInt(p.calls)} calls logged, ${fmtInt(p.jobs)} jobs, ${fmtInt(p.final)} final`,
          );
        }
      });
      const loadResult: LoadResult = load ?? (await loadPromise);
      spans.on = false;
      const apiElu = performance.eventLoopUtilization(elu).utilization;
      const cpu = cpuUse(before, cpuSnapshot(loadGenerator.pid));
      clearInterval(sampler);
      const hwm = vmHwmKb();
      let profileSummary: ReturnType<typeof summarizeProfile> | null = null;
      let profilePath: string | null = null;
      if (profileSession) {
        const { profile } = (await profileSession.post("Profiler.stop")) as unknown as { profile: CpuProfile };
        profileSession.disconnect();
        profileSession = null;
        profileSummary = summarizeProfile(profile);
        profilePath = join(tmpdir(), `callflow-after-call-burst-${runTag}.cpuprofile`);
        writeFileSync(profilePath, JSON.stringify(profile));
      }

      const rows = await callTimes(prefix);
      const firstReceived = Math.min(...rows.map((r) => r.received ?? Number.POSITIVE_INFINITY));
      const lastOf = (pick: (r: CallTimes) => number | null | undefined) =>
        Math.max(...rows.map((r) => pick(r) ?? Number.NEGATIVE_INFINITY));
      const at = (t: number) => (Number.isFinite(t) ? `${((t - firstReceived) / 1000).toFixed(2)} s` : "-");
      const end = done.last ?? Number.NaN;
      const seconds = (end - firstReceived) / 1000;
      const rate = done.timedOut ? Number.NaN : calls.length / seconds;
      const postRate = loadResult.completed / (loadResult.elapsedMs / 1000);

      for (const line of timeline) console.log(`  ${line}`);
      console.log(
        `  webhook took the ${fmtInt(loadResult.completed)} callbacks in ${(loadResult.elapsedMs / 1000).toFixed(2)} s ` +
          `(${postRate.toFixed(0)} calls/s, errors ${loadResult.errors}${loadResult.errorSamples.length ? `: ${loadResult.errorSamples.join("; ")}` : ""})`,
      );
      console.log(
        `  from the first callback received: last call logged ${at(lastOf((r) => r.logged))}, last job written ${at(lastOf((r) => r.jobWritten))}, ` +
          `last WhatsApp request at the sandbox ${at(lastOf((r) => r.atSandbox))}, every job final ${at(end)}` +
          (done.timedOut
            ? ` (TIMED OUT after ${options.timeoutSeconds} s: ${fmtInt(done.final)} of ${fmtInt(calls.length)} final)`
            : ""),
      );
      console.log(header("per call during the burst (ms)"));
      console.log(statRow("webhook answered (load generator: post → 200)", loadResult.latencies));
      console.log(
        statRow(
          "webhook received → WhatsApp request at the sandbox",
          between(
            rows,
            (r) => r.received,
            (r) => r.atSandbox,
          ),
        ),
      );
      console.log(
        statRow(
          "  webhook received → call/completed stored",
          between(
            rows,
            (r) => r.received,
            (r) => r.callEvent,
          ),
        ),
      );
      console.log(
        statRow(
          "  → job written (decide step)",
          between(
            rows,
            (r) => r.callEvent,
            (r) => r.jobWritten,
          ),
        ),
      );
      console.log(
        statRow(
          "  → WhatsApp attempt claimed",
          between(
            rows,
            (r) => r.jobWritten,
            (r) => r.claimed,
          ),
        ),
      );
      console.log(
        statRow(
          "  → create request at the sandbox",
          between(
            rows,
            (r) => r.claimed,
            (r) => r.atSandbox,
          ),
        ),
      );
      console.log(
        statRow(
          "WhatsApp at the sandbox → job final",
          between(
            rows,
            (r) => r.atSandbox,
            (r) => r.completed,
          ),
        ),
      );
      console.log(
        statRow(
          "webhook received → job final",
          between(
            rows,
            (r) => r.received,
            (r) => r.completed,
          ),
        ),
      );
      printSpans(loadResult.elapsedMs > 0 ? (Date.now() - started) / 1000 : 1);
      if (cpu) console.log(`  ${describeCpu(cpu, calls.length)}`);
      console.log(
        `  event loop busy: API process ${(apiElu * 100).toFixed(0)}%, load generator ${(loadResult.eventLoopUtilization * 100).toFixed(0)}%`,
      );
      const peak = hwmReset && hwm !== null ? hwm * 1024 : rssPeak;
      console.log(
        `  API process memory: peak RSS ${mb(peak)} during the burst (${hwmReset && hwm !== null ? "VmHWM, reset just before the burst" : "sampled"}; ` +
          `sampled every 50 ms: ${mb(rssPeak)}, heap used then ${mb(heapAtPeak)}); RSS before ${mb(rssBefore)}, after ${mb(process.memoryUsage().rss)}`,
      );
      await settle();
      const pgAfter = await pgCounters();
      console.log(`  executor runs: ${describeRuns(await executorRuns(started))}`);
      console.log(`  ${describePg(pgBefore, pgAfter, calls.length)} (the bench's polls included)`);
      if (profileSummary) {
        const total = profileSummary.total;
        console.log(
          `  CPU profile of the API process during the burst (${(total / 1000).toFixed(1)} s sampled, self time; ${profilePath}):`,
        );
        for (const [bucket, t] of profileSummary.buckets.slice(0, 14))
          console.log(
            `    ${bucket.padEnd(64)} ${(t / 1000).toFixed(2).padStart(7)} s ${((t / total) * 100).toFixed(1).padStart(5)}%`,
          );
        console.log(`    top functions: ${profileSummary.top.join("; ")}`);
      }
      checkPhase("burst", calls, rows);
      summary.push(
        `burst (${fmtInt(calls.length)} calls, ${options.concurrency} connections): every job final after ${Number.isFinite(seconds) ? seconds.toFixed(1) : "-"} s = ` +
          `${Number.isFinite(rate) ? rate.toFixed(1) : "-"} calls/s (webhook took them at ${postRate.toFixed(0)}/s); API process peak RSS ${mb(peak)}`,
      );
      goals.push(
        `>= ${GOAL_RATE} calls/s: ${rate >= GOAL_RATE ? "yes" : "no"} (${Number.isFinite(rate) ? rate.toFixed(1) : "timed out"})`,
      );
    }

    // ---- summary
    await settle();
    console.log(
      `\nsummary (goals: p95 <= ${GOAL_P95_MS} ms webhook → WhatsApp at the sandbox over ${options.calls} calls; >= ${GOAL_RATE} calls/s ` +
        `for a burst of ${fmtInt(options.burst)}; clock: this process's wall clock, which the API, PGlite, the executor and the sandbox share):`,
    );
    for (const line of summary) console.log(`  ${line}`);
    console.log(
      `  goals: ${goals.join("; ")}; every call delivered on WhatsApp exactly once: ${checksOk ? "yes" : "no"}`,
    );
    for (const line of checkLines) console.log(`  ${line}`);
    console.log(
      `  API log (${logLevel}): ${fmtInt(logCounts.lines)} lines, ${logCounts.warn} warnings, ${logCounts.error} errors` +
        (logCounts.samples.length ? `; first: ${logCounts.samples.join(" | ")}` : ""),
    );
    console.log(
      `  (${cpus} CPUs for the product and the load generator together; load average now ${loadavg()[0]?.toFixed(2)})`,
    );
  } finally {
    if (profileSession) profileSession.disconnect();
    for (const child of children) {
      if (child.connected) child.disconnect();
      if (child.exitCode === null) child.kill();
    }
    // As main.ts's shutdown: the server, then the executor, the sandbox, the database.
    for (const stop of stops) {
      try {
        await stop();
      } catch (error) {
        console.error(`stopping: ${(error as Error).message}`);
      }
    }
    await new Promise<void>((resolve) => logFile.end(() => resolve()));
    if (options.keepData) console.log(`data kept in ${dataDir} (API log: ${logPath})`);
    else rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------
// Entry: the bench itself, or (forked by it) the load generator.

if (process.argv[2] === "--load-generator") {
  process.on("message", (message: LoadCommand) => {
    (message.command === "prepare" ? prepareLoadJob(message.job) : fireLoadJob()).then(
      (reply) => process.send?.(reply),
      (error: Error) => process.send?.({ error: error.message }),
    );
  });
  process.on("disconnect", () => process.exit(0));
} else {
  await main(parseOptions(process.argv.slice(2)));
}
