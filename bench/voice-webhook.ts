// Benchmark: Twilio's voice status callbacks ingested end to end: POST /webhooks/twilio/voice
// through Hono, the X-Twilio-Signature check, the durable write (receipt, contact, call
// log in one withService transaction on the PostgreSQL server) and the call/completed
// event sent with the real Inngest client.
//
// Three processes, as api-calls-list.ts splits them:
//   - this one: the API (createApp with its `twilio` option, served by @hono/node-server
//     on a free port of 127.0.0.1, log level silent), over `openDatabase` with a pool;
//     its `emit` is `inngest.send` of `createInngestClient({ isDev: true, baseUrl })`;
//   - the Inngest receiver (child): a tiny HTTP server answering the event API as Inngest
//     does (`POST /e/<key>` -> 200 {"ids":[...],"status":200}), counting the events;
//   - the load generator (child): pre-signs N distinct final callbacks (distinct CallSids,
//     no-answer/completed, valid caller numbers) with the twilio SDK, then fires them over
//     keep-alive connections, each sending its next request when the last one answered.
// The same load then goes to a bare Hono handler (200 `<Response/>`) in this process, to
// read the webhook's figures against. At the end every call sent must have exactly one
// call_logs row and one call/completed event. It prints figures; it does not pass or fail.
//
//   npx tsx voice-webhook.ts [--connections 64] [--requests 20000] [--duration 30]
//                            [--warmup 1000] [--serial-requests 500] [--pool 20]
//                            [--callers 5000] [--webhook-only] [--emit inngest|noop]
//
// `--emit noop` (diagnosis only) replaces inngest.send with a function that does nothing:
// the difference is what sending the event costs.
//
// Server: BENCH_DATABASE_URL (any database on the server) or, when unset, the URL printed
// by `bash scripts/pg-server.sh`. The bench drops and recreates `callflow_bench_voice`
// next to it on every run, migrates it and inserts one org and its phone number.

import { type ChildProcess, execFileSync, fork } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { Agent, createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { Database } from "@callflow/db";
import { benchEnv } from "./env.ts";

// ---------------------------------------------------------------------------------------
// Options

interface Options {
  connections: number;
  requests: number;
  durationSeconds: number;
  warmup: number;
  serialRequests: number;
  pool: number;
  /** Distinct caller numbers (From), cycled: the first sight of each creates a contact. */
  callers: number;
  /** Skip the bare Hono lane (e.g. to profile the webhook alone with --cpu-prof). */
  webhookOnly: boolean;
  /** For diagnosis only: `noop` replaces inngest.send by a function that does nothing. */
  emit: "inngest" | "noop";
}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    connections: 64,
    requests: 20_000,
    durationSeconds: 30,
    warmup: 1_000,
    serialRequests: 500,
    pool: 20,
    callers: 5_000,
    webhookOnly: false,
    emit: "inngest",
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
      case "--": // `pnpm bench:voice -- --connections 32`
        break;
      case "--connections":
        options.connections = Math.max(1, count(arg(), flag));
        break;
      case "--requests":
        options.requests = Math.max(1, count(arg(), flag));
        break;
      case "--duration":
        options.durationSeconds = Math.max(1, count(arg(), flag));
        break;
      case "--warmup":
        options.warmup = count(arg(), flag);
        break;
      case "--serial-requests":
        options.serialRequests = count(arg(), flag);
        break;
      case "--pool":
        options.pool = Math.max(1, count(arg(), flag));
        break;
      case "--callers":
        options.callers = Math.min(CALLER_NUMBERS, Math.max(1, count(arg(), flag)));
        break;
      case "--webhook-only":
        options.webhookOnly = true;
        break;
      case "--emit": {
        const emit = arg();
        if (emit !== "inngest" && emit !== "noop") throw new Error("--emit takes inngest or noop");
        options.emit = emit;
        break;
      }
      case "--help":
      case "-h":
        console.log(
          "usage: tsx voice-webhook.ts [--connections N] [--requests N] [--duration SECONDS] [--warmup N]\n" +
            "                            [--serial-requests N (0: no one-connection phase)] [--pool N]\n" +
            `                            [--callers N (at most ${CALLER_NUMBERS})] [--webhook-only] [--emit inngest|noop]`,
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

const DATABASE_NAME = "callflow_bench_voice";
const ORG = "org_bench_voice";
/** The org's number: what Twilio's callbacks have as To. */
const BUSINESS_NUMBER = "+15550100001";
const AUTH_TOKEN = "bench-twilio-auth-token-0123456789";
/** Where Twilio would reach the API (behind a tunnel or load balancer): what is signed. */
const PUBLIC_URL = "https://hooks.callflow.bench";
const WEBHOOK_PATH = "/webhooks/twilio/voice";
const ACCOUNT_SID = `AC${"0123456789abcdef".repeat(2)}`;
/** Callers: +1 <area> 555 <0100..9999>, all valid numbers for libphonenumber. */
const AREA_CODES = ["212", "303", "415", "512", "617"] as const;
const CALLER_NUMBERS = AREA_CODES.length * 9_900;
const GOAL_RATE = 1_500;
const GOAL_P99_MS = 50;

const fmtInt = (n: number): string => n.toLocaleString("en-US");

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

/** The CallSid of callback number `index` of a run: CA + 8 hex of the run + 24 hex of the index. */
function callSidOf(runTag: string, index: number): string {
  return `CA${runTag}${index.toString(16).padStart(24, "0")}`;
}

function callerOf(index: number, callers: number): string {
  const n = index % callers;
  const area = AREA_CODES[n % AREA_CODES.length] as string;
  const line = 100 + Math.floor(n / AREA_CODES.length);
  return `+1${area}555${String(line).padStart(4, "0")}`;
}

/** A final status callback as Twilio posts it (the fields of a call's status callback). */
function finalCallback(runTag: string, index: number, callers: number): Record<string, string> {
  const from = callerOf(index, callers);
  const completed = index % 2 === 1;
  const seconds = completed ? 3 + ((index * 37) % 300) : 0;
  const at = new Date(Date.UTC(2026, 10, 25, 14, 0, 0) + index * 1000).toUTCString().replace("GMT", "+0000");
  const place = (prefix: string, city: string, state: string, zip: string) => ({
    [`${prefix}City`]: city,
    [`${prefix}Country`]: "US",
    [`${prefix}State`]: state,
    [`${prefix}Zip`]: zip,
  });
  return {
    AccountSid: ACCOUNT_SID,
    ApiVersion: "2010-04-01",
    CallSid: callSidOf(runTag, index),
    CallStatus: completed ? "completed" : "no-answer",
    CallDuration: String(seconds),
    Duration: String(Math.ceil(seconds / 60)),
    CallbackSource: "call-progress-events",
    SequenceNumber: "0",
    Timestamp: at,
    Direction: "inbound",
    From: from,
    Caller: from,
    ...place("From", "AUSTIN", "TX", "78701"),
    ...place("Caller", "AUSTIN", "TX", "78701"),
    To: BUSINESS_NUMBER,
    Called: BUSINESS_NUMBER,
    ...place("To", "", "", ""),
    ...place("Called", "", "", ""),
  };
}

/** One run of a lane: what the load loop reports back. */
interface RunResult {
  /** Latencies of the measured (post-warm-up) requests that were answered 200, ms. */
  latencies: number[];
  completed: number;
  errors: number;
  errorSamples: string[];
  elapsedMs: number;
  /** Callbacks sent, warm-up included: those of index firstIndex .. firstIndex + sent - 1. */
  sent: number;
}

// ---------------------------------------------------------------------------------------
// The load generator (child process): pre-signed callbacks over keep-alive connections.

interface LoadJob {
  url: string;
  concurrency: number;
  warmup: number;
  requests: number;
  durationMs: number;
  runTag: string;
  firstIndex: number;
  callers: number;
}

interface LoadReply {
  result: RunResult;
  eventLoopUtilization: number;
}

/** To the load generator: sign the job's callbacks, then (a second message) send them. */
type LoadCommand = { command: "prepare"; job: LoadJob } | { command: "fire"; job: LoadJob };

interface Prepared {
  body: Buffer;
  headers: Record<string, string>;
}

/** The callbacks of the last `prepare`, fired by the next `fire`. */
let prepared: Prepared[] = [];

async function prepareLoadJob(job: LoadJob): Promise<{ signingMs: number }> {
  const { default: twilio } = await import("twilio");
  // Pre-signed, as Twilio signs them: HMAC-SHA1 of PUBLIC_URL + path + the sorted fields.
  const signingStarted = performance.now();
  prepared = [];
  for (let i = 0; i < job.warmup + job.requests; i++) {
    const params = finalCallback(job.runTag, job.firstIndex + i, job.callers);
    const body = Buffer.from(new URLSearchParams(params).toString());
    prepared.push({
      body,
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "content-length": String(body.length),
        "x-twilio-signature": twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_URL}${WEBHOOK_PATH}`, params),
        "i-twilio-idempotency-token": params.CallSid as string,
        "user-agent": "TwilioProxy/1.1",
      },
    });
  }
  return { signingMs: performance.now() - signingStarted };
}

async function fireLoadJob(job: LoadJob): Promise<LoadReply> {
  const target = new URL(job.url);
  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency, maxFreeSockets: job.concurrency });
  const post = (item: Prepared) =>
    new Promise<void>((resolve, reject) => {
      const request = httpRequest(
        {
          agent,
          host: target.hostname,
          port: target.port,
          method: "POST",
          path: WEBHOOK_PATH,
          headers: item.headers,
        },
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
      request.setTimeout(10_000, () => request.destroy(new Error("no answer within 10 s")));
      request.on("error", reject);
      request.end(item.body);
    });

  const result: RunResult = { latencies: [], completed: 0, errors: 0, errorSamples: [], elapsedMs: 0, sent: 0 };
  let next = 0;
  const phase = async (count: number, durationMs: number, record: boolean) => {
    const last = next + count;
    const started = performance.now();
    const deadline = started + durationMs;
    const loop = async () => {
      while (next < last && performance.now() < deadline) {
        const item = prepared[next++] as Prepared;
        const requestStarted = performance.now();
        try {
          await post(item);
          if (record) {
            result.latencies.push(performance.now() - requestStarted);
            result.completed++;
          }
        } catch (error) {
          // Warm-up errors count too: every callback sent must be answered 200.
          result.errors++;
          if (result.errorSamples.length < 5) result.errorSamples.push((error as Error).message);
        }
      }
    };
    await Promise.all(Array.from({ length: job.concurrency }, loop));
    return performance.now() - started;
  };
  const elu = performance.eventLoopUtilization();
  if (job.warmup > 0) await phase(job.warmup, Number.POSITIVE_INFINITY, false);
  result.elapsedMs = await phase(job.requests, job.durationMs, true);
  result.sent = next;
  const eventLoopUtilization = performance.eventLoopUtilization(elu).utilization;
  agent.destroy();
  return { result, eventLoopUtilization };
}

// ---------------------------------------------------------------------------------------
// The Inngest receiver (child process): the event API as the SDK expects it.

interface ReceiverCounts {
  requests: number;
  events: number;
  /** Events that were not call/completed with id = data.callSid. */
  malformed: number;
  /** Distinct event ids (the CallSids) received since the last reset. */
  ids: string[];
  eventLoopUtilization: number;
}

function runReceiver(): void {
  let ids = new Set<string>();
  let requests = 0;
  let events = 0;
  let malformed = 0;
  let sequence = 0;
  let elu = performance.eventLoopUtilization();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (request.method !== "POST" || !request.url?.startsWith("/e/")) {
        response.writeHead(404, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: "not found", status: 404 }));
        return;
      }
      requests++;
      let sent: Array<{ id?: string; name?: string; data?: { callSid?: string } }>;
      try {
        const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
        sent = (Array.isArray(parsed) ? parsed : [parsed]) as typeof sent;
      } catch {
        response.writeHead(400, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: "invalid JSON", status: 400 }));
        return;
      }
      const answerIds: string[] = [];
      for (const event of sent) {
        events++;
        if (event.name !== "call/completed" || !event.id || event.id !== event.data?.callSid) malformed++;
        if (event.id) ids.add(event.id);
        answerIds.push(`01BENCH${(sequence++).toString(36).padStart(19, "0").toUpperCase()}`);
      }
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ ids: answerIds, status: 200 }));
    });
  });
  server.listen(0, "127.0.0.1", () => {
    process.send?.({ port: (server.address() as AddressInfo).port });
  });
  process.on("message", (message: { command: "counts" | "reset" }) => {
    if (message.command === "reset") {
      ids = new Set();
      requests = 0;
      events = 0;
      malformed = 0;
      elu = performance.eventLoopUtilization();
      process.send?.({ reset: true });
      return;
    }
    const counts: ReceiverCounts = {
      requests,
      events,
      malformed,
      ids: [...ids],
      eventLoopUtilization: performance.eventLoopUtilization(elu).utilization,
    };
    process.send?.(counts);
  });
  process.on("disconnect", () => process.exit(0));
}

// ---------------------------------------------------------------------------------------
// CPU accounting from /proc (Linux): who used the machine's cores during a run.

const CLOCK_TICKS = 100; // USER_HZ; `getconf CLK_TCK` is 100 on Linux

interface CpuSnapshot {
  at: number;
  machineBusy: number;
  machineTotal: number;
  api: number;
  loadGenerator: number;
  receiver: number;
  /** Ticks per postgres process of this bench (see postgresTicks). */
  postgres: Map<number, number>;
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

/**
 * CPU ticks of the PostgreSQL processes that work for this bench: the backends connected
 * to callflow_bench_voice (their process title names the database) and the server's
 * shared background processes (checkpointer, WAL writer, ...). Backends of other
 * databases, e.g. another test run's on the same server, count as "other".
 */
function postgresTicks(): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (!stat.includes("(postgres)")) continue;
      const title = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
      const ours =
        new RegExp(` ${DATABASE_NAME} `).test(title) ||
        /: (checkpointer|background writer|walwriter|autovacuum launcher|logical replication launcher)/.test(title) ||
        !title.startsWith("postgres:"); // the postmaster
      if (!ours) continue;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks.set(Number(entry), Number(fields[11]) + Number(fields[12]));
    } catch {
      // gone meanwhile
    }
  }
  return ticks;
}

/** Ticks used between two postgresTicks() maps: processes that exited meanwhile are lost. */
function postgresDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ticks] of after) total += ticks - (before.get(pid) ?? 0);
  return total;
}

function cpuSnapshot(loadGeneratorPid: number | undefined, receiverPid: number | undefined): CpuSnapshot | undefined {
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
      receiver: processTicks(receiverPid),
      postgres: postgresTicks(),
    };
  } catch {
    return undefined;
  }
}

interface CpuUse {
  /** Cores busy, machine-wide (of availableParallelism()). */
  machine: number;
  api: number;
  loadGenerator: number;
  receiver: number;
  postgres: number;
  other: number;
  seconds: number;
}

function cpuUse(before: CpuSnapshot | undefined, after: CpuSnapshot | undefined): CpuUse | undefined {
  if (!before || !after) return undefined;
  const seconds = (after.at - before.at) / 1000;
  // /proc/stat counts all CPUs together: busy / total ticks x CPUs = cores busy.
  const machine =
    ((after.machineBusy - before.machineBusy) / (after.machineTotal - before.machineTotal)) * availableParallelism();
  const cores = (ticks: number) => ticks / CLOCK_TICKS / seconds;
  const api = cores(after.api - before.api);
  const loadGenerator = cores(after.loadGenerator - before.loadGenerator);
  const receiver = cores(after.receiver - before.receiver);
  const postgres = cores(postgresDelta(before.postgres, after.postgres));
  return {
    machine,
    api,
    loadGenerator,
    receiver,
    postgres,
    other: Math.max(0, machine - api - loadGenerator - receiver - postgres),
    seconds,
  };
}

function describeCpu(use: CpuUse, requests: number): string {
  const per = (cores: number) => `${((cores * use.seconds * 1000) / Math.max(1, requests)).toFixed(3)}`;
  return (
    `CPU (cores busy, of ${availableParallelism()}): machine ${use.machine.toFixed(2)} = ` +
    `API process ${use.api.toFixed(2)} + load generator ${use.loadGenerator.toFixed(2)} + ` +
    `Inngest receiver ${use.receiver.toFixed(2)} + postgres ${use.postgres.toFixed(2)} + other ${use.other.toFixed(2)}; ` +
    `CPU ms per request: API ${per(use.api)}, load generator ${per(use.loadGenerator)}, ` +
    `receiver ${per(use.receiver)}, postgres ${per(use.postgres)}`
  );
}

// ---------------------------------------------------------------------------------------
// Database

function serverUrl(): string {
  const fromEnv = benchEnv.BENCH_DATABASE_URL;
  if (fromEnv) return fromEnv;
  const script = fileURLToPath(new URL("../scripts/pg-server.sh", import.meta.url));
  const out = execFileSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  const url = out.split("\n").at(-1);
  if (!url?.startsWith("postgres")) throw new Error(`scripts/pg-server.sh printed no URL: ${out}`);
  return url;
}

/**
 * The bench's own spans inside the API: the withService transaction split into its start
 * (a pool connection, BEGIN, the service role), its body (number owner, receipt, contact,
 * call log) and its end (COMMIT: the WAL flush), and the event send. Recorded while on.
 */
interface Spans {
  on: boolean;
  fetch: number[];
  begin: number[];
  body: number[];
  commit: number[];
  emit: number[];
}

const newSpans = (): Spans => ({ on: false, fetch: [], begin: [], body: [], commit: [], emit: [] });

function timedDatabase(database: Database, spans: Spans): Database {
  return {
    kind: database.kind,
    owner: database.owner,
    withTenant: (claims, fn) => database.withTenant(claims, fn),
    async withService(fn) {
      const started = performance.now();
      let bodyStarted = started;
      let bodyEnded = started;
      const result = await database.withService(async (tx) => {
        bodyStarted = performance.now();
        try {
          return await fn(tx);
        } finally {
          bodyEnded = performance.now();
        }
      });
      if (spans.on) {
        spans.begin.push(bodyStarted - started);
        spans.body.push(bodyEnded - bodyStarted);
        spans.commit.push(performance.now() - bodyEnded);
      }
      return result;
    },
    close: () => database.close(),
  };
}

// ---------------------------------------------------------------------------------------
// Reporting

const ms = (x: number): string => x.toFixed(2).padStart(8);

function header(): string {
  return `  ${"lane".padEnd(34)} ${"requests".padStart(8)} ${"errors".padStart(6)} ${"req/s".padStart(7)} ${"p50".padStart(8)} ${"p95".padStart(8)} ${"p99".padStart(8)} ${"mean".padStart(8)} ${"max".padStart(8)}`;
}

const rate = (r: RunResult) => r.completed / (r.elapsedMs / 1000);

function row(label: string, result: RunResult): string {
  const s = stats(result.latencies);
  return `  ${label.padEnd(34)} ${String(result.completed).padStart(8)} ${String(result.errors).padStart(6)} ${rate(result).toFixed(0).padStart(7)} ${ms(s.p50)} ${ms(s.p95)} ${ms(s.p99)} ${ms(s.mean)} ${ms(s.max)}`;
}

function spanRow(label: string, samples: number[]): string {
  const s = stats(samples);
  return `  ${label.padEnd(34)} ${String(s.n).padStart(8)} ${"".padStart(6)} ${"".padStart(7)} ${ms(s.p50)} ${ms(s.p95)} ${ms(s.p99)} ${ms(s.mean)} ${ms(s.max)}`;
}

// ---------------------------------------------------------------------------------------
// Main

async function main(options: Options): Promise<void> {
  // The API's modules load here only: the children stay small.
  const [
    { migrate, openDatabase },
    { createInngestClient },
    { serve },
    { Hono },
    { sql },
    { createApp },
    { createLog },
  ] = await Promise.all([
    import("@callflow/db"),
    import("@callflow/inngest"),
    import("@hono/node-server"),
    import("hono"),
    import("kysely"),
    import("../apps/api/src/http/app.ts"),
    import("../apps/api/src/log.ts"),
  ]);

  const cpus = availableParallelism();
  console.log(
    `voice-webhook bench: POST ${WEBHOOK_PATH} (signature check, withService write, call/completed via the Inngest ` +
      `client), ${options.connections} keep-alive connections, pool ${options.pool}, ${fmtInt(options.callers)} distinct callers, node ${process.version}`,
  );
  console.log(
    `machine: ${cpus} CPUs, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}. The ${cpus} cores are shared by the load generator, the Inngest receiver (child processes), ` +
      "the API (this process) and PostgreSQL, and anything else running: the figures are those of one small box.",
  );
  console.log(
    `CPU figures below come from /proc: postgres = ${DATABASE_NAME}'s backends and the server's background ` +
      "processes; other = everything else on the machine (other programs, other databases' backends, the kernel).",
  );

  // A fresh database: every CallSid of the run is new, and the row counts are the run's.
  const adminUrl = serverUrl();
  const benchUrl = new URL(adminUrl);
  benchUrl.pathname = `/${DATABASE_NAME}`;
  const setupStarted = performance.now();
  const admin = await openDatabase({ databaseUrl: adminUrl, poolSize: 1 });
  try {
    await sql`drop database if exists ${sql.id(DATABASE_NAME)} with (force)`.execute(admin.owner);
    await sql`create database ${sql.id(DATABASE_NAME)}`.execute(admin.owner);
  } finally {
    await admin.close();
  }
  const rawDatabase = await openDatabase({ databaseUrl: benchUrl.toString(), poolSize: options.pool });
  const spans = newSpans();
  const database = timedDatabase(rawDatabase, spans);
  const children: ChildProcess[] = [];
  const servers: Array<ReturnType<typeof serve>> = [];
  try {
    const { applied } = await migrate(rawDatabase);
    await rawDatabase.withService(async (tx) => {
      await tx.insertInto("organizations").values({ id: ORG, name: "Bench voice" }).execute();
      await tx
        .insertInto("phone_numbers")
        .values({ organization_id: ORG, e164: BUSINESS_NUMBER, label: "main" })
        .execute();
    });
    const settings = await sql<{ name: string; setting: string }>`
      select name, setting from pg_settings
      where name in ('server_version', 'synchronous_commit', 'fsync', 'wal_sync_method', 'max_connections')
      order by name`.execute(rawDatabase.owner);
    console.log(
      `server: PostgreSQL at ${benchUrl.host}, database ${DATABASE_NAME} created, ${applied.length} migrations applied, ` +
        `org ${ORG} with ${BUSINESS_NUMBER} inserted (${((performance.now() - setupStarted) / 1000).toFixed(1)} s); ` +
        settings.rows.map((s) => `${s.name} ${s.setting}`).join(", "),
    );

    // Children: their execArgv without --cpu-prof (profile the API alone).
    const script = fileURLToPath(import.meta.url);
    const childArgv = process.execArgv.filter((arg) => !arg.startsWith("--cpu-prof"));
    const receiver = fork(script, ["--inngest-receiver"], { execArgv: childArgv, stdio: "inherit" });
    children.push(receiver);
    const receiverPort = await new Promise<number>((resolve, reject) => {
      receiver.once("exit", (code) => reject(new Error(`Inngest receiver exited (${code})`)));
      receiver.once("message", (message: { port: number }) => resolve(message.port));
    });
    const receiverUrl = `http://127.0.0.1:${receiverPort}`;
    const ask = <T>(child: ChildProcess, message: object) =>
      new Promise<T>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`child process exited (${code})`));
        child.once("exit", onExit);
        child.once("message", (reply: T | { error: string }) => {
          child.off("exit", onExit);
          if (reply && typeof reply === "object" && "error" in reply) reject(new Error(reply.error));
          else resolve(reply as T);
        });
        child.send(message);
      });

    // The API as main.ts composes it, with the real Inngest client pointed at the receiver.
    const _inngest = createInngestClient({ isDev: true, baseUrl: receiverUrl });
    const app = createApp({
      database,
      verifySession: async () => {
        throw new Error("no sessions in this bench");
      },
      log: createLog("silent"),
      webOrigins: ["http://localhost:5173"],
      rateLimitPerMinute: 1_000_000_000,
      maxBodyBytes: 64 * 1024,
      maxBatchSize: 10,
      twilio: {
        authToken: AUTH_TOKEN,
        publicUrl: PUBLIC_URL,
        // Events stay in the outbox here: this measures the webhook's own work.
        outbox: { wake() {} },
      },
    });
    const timedFetch = async (request: Request, env: unknown) => {
      const started = performance.now();
      const response = await app.fetch(request, env);
      if (spans.on) spans.fetch.push(performance.now() - started);
      return response;
    };
    const bare = new Hono().post(WEBHOOK_PATH, (c) =>
      c.body("<Response/>", 200, { "content-type": "text/xml; charset=utf-8" }),
    );
    const listen = async (fetch: Parameters<typeof serve>[0]["fetch"]) => {
      const server = serve({ fetch, port: 0, hostname: "127.0.0.1" });
      servers.push(server);
      await new Promise<void>((resolve) => server.once("listening", () => resolve()));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    const apiUrl = await listen(timedFetch);
    const bareUrl = await listen(bare.fetch);

    const loadGenerator = fork(script, ["--load-generator"], { execArgv: childArgv, stdio: "inherit" });
    children.push(loadGenerator);
    const runTag = Date.now().toString(16).slice(-8).padStart(8, "0");

    // One callback by hand: the webhook answers, writes and sends.
    const probeJob: LoadJob = {
      url: apiUrl,
      concurrency: 1,
      warmup: 0,
      requests: 1,
      durationMs: 10_000,
      runTag,
      firstIndex: 0,
      callers: options.callers,
    };
    await ask(loadGenerator, { command: "prepare", job: probeJob } satisfies LoadCommand);
    const probe = await ask<LoadReply>(loadGenerator, { command: "fire", job: probeJob } satisfies LoadCommand);
    if (probe.result.errors) throw new Error(`probe: ${probe.result.errorSamples.join("; ")}`);
    const probeCounts = await ask<ReceiverCounts>(receiver, { command: "counts" });
    console.log(
      `API at ${apiUrl}, bare Hono at ${bareUrl}, Inngest receiver at ${receiverUrl}: probe HTTP 200, ` +
        (options.emit === "noop"
          ? "--emit noop: no events are sent"
          : `${probeCounts.events} event received (${probeCounts.ids[0] === callSidOf(runTag, 0) ? "id = CallSid" : "UNEXPECTED id"})`),
    );

    let nextIndex = 1;
    /** Callbacks sent to the webhook: index ranges [first, first + sent). */
    const webhookRanges: Array<[number, number]> = [[0, 1]];
    let webhookErrors = 0;
    let eventsOk =
      options.emit === "inngest" && probeCounts.events === 1 && probeCounts.ids[0] === callSidOf(runTag, 0);
    const phases: Array<{ concurrency: number; requests: number; warmup: number }> = [];
    if (options.serialRequests > 0)
      phases.push({ concurrency: 1, requests: options.serialRequests, warmup: Math.min(options.warmup, 200) });
    phases.push({ concurrency: options.connections, requests: options.requests, warmup: options.warmup });

    const summary: string[] = [];
    let goalLine = "";
    for (const phase of phases) {
      const many = phase.concurrency > 1;
      console.log(
        `\n--- ${phase.concurrency} connection${many ? "s" : ""}: up to ${fmtInt(phase.requests)} requests or ` +
          `${options.durationSeconds} s per lane, after ${fmtInt(phase.warmup)} warm-up; load average ${loadavg()[0]?.toFixed(2)}`,
      );
      const lane = async (url: string) => {
        const job: LoadJob = {
          url,
          concurrency: phase.concurrency,
          warmup: phase.warmup,
          requests: phase.requests,
          durationMs: options.durationSeconds * 1000,
          runTag,
          firstIndex: nextIndex,
          callers: options.callers,
        };
        nextIndex += phase.warmup + phase.requests;
        // Signed first, outside the measured window; CPU covers the warm-up and the run.
        const { signingMs } = await ask<{ signingMs: number }>(loadGenerator, {
          command: "prepare",
          job,
        } satisfies LoadCommand);
        const before = cpuSnapshot(loadGenerator.pid, receiver.pid);
        const apiElu = performance.eventLoopUtilization();
        const reply = await ask<LoadReply>(loadGenerator, { command: "fire", job } satisfies LoadCommand);
        const apiUtilization = performance.eventLoopUtilization(apiElu).utilization;
        const cpu = cpuUse(before, cpuSnapshot(loadGenerator.pid, receiver.pid));
        return { job, reply, apiUtilization, cpu, signingMs };
      };

      const bareRun = options.webhookOnly ? undefined : await lane(bareUrl);
      await ask(receiver, { command: "reset" });
      Object.assign(spans, newSpans(), { on: true });
      const hook = await lane(apiUrl);
      spans.on = false;
      const counts = await ask<ReceiverCounts>(receiver, { command: "counts" });
      webhookRanges.push([hook.job.firstIndex, hook.reply.result.sent]);
      webhookErrors += hook.reply.result.errors;

      const http = hook.reply.result;
      // The API-side spans include the warm-up: its samples come first and are dropped.
      const measured = (samples: number[]) => samples.slice(Math.min(samples.length, phase.warmup));
      console.log(header());
      if (bareRun) console.log(row("bare Hono handler (<Response/>)", bareRun.reply.result));
      console.log(row(`POST ${WEBHOOK_PATH}`, http));
      console.log(spanRow("  of which inside app.fetch", measured(spans.fetch)));
      console.log(spanRow("    tx start (pool, BEGIN, role)", measured(spans.begin)));
      console.log(spanRow("    tx body (owner, receipt, ...)", measured(spans.body)));
      console.log(spanRow("    tx COMMIT", measured(spans.commit)));
      console.log(spanRow(`    emit (${options.emit === "noop" ? "no-op" : "inngest.send"})`, measured(spans.emit)));
      const requestsOf = (r: { job: LoadJob; reply: LoadReply }) => r.job.warmup + r.reply.result.completed;
      if (bareRun?.cpu) console.log(`  bare:    ${describeCpu(bareRun.cpu, requestsOf(bareRun))}`);
      if (hook.cpu) console.log(`  webhook: ${describeCpu(hook.cpu, requestsOf(hook))}`);
      console.log(
        `  event loop busy: ${bareRun ? `bare: API ${(bareRun.apiUtilization * 100).toFixed(0)}%, load generator ${(bareRun.reply.eventLoopUtilization * 100).toFixed(0)}%; ` : ""}` +
          `webhook: API ${(hook.apiUtilization * 100).toFixed(0)}%, load generator ${(hook.reply.eventLoopUtilization * 100).toFixed(0)}%, ` +
          `receiver ${(counts.eventLoopUtilization * 100).toFixed(0)}%`,
      );
      const sentIds = new Set(Array.from({ length: http.sent }, (_, i) => callSidOf(runTag, hook.job.firstIndex + i)));
      const strayIds = counts.ids.filter((id) => !sentIds.has(id)).length;
      // Exactly one call/completed per callback sent, with its CallSid as id.
      if (counts.events !== http.sent || counts.ids.length !== http.sent || counts.malformed > 0 || strayIds > 0)
        eventsOk = false;
      console.log(
        `  Inngest receiver: ${fmtInt(counts.requests)} requests, ${fmtInt(counts.events)} events, ${fmtInt(counts.ids.length)} distinct ids ` +
          `for ${fmtInt(http.sent)} callbacks sent (warm-up included)${counts.malformed ? `, ${counts.malformed} MALFORMED` : ""}` +
          `${strayIds ? `, ${strayIds} ids NOT SENT` : ""}; signing the ${fmtInt(hook.job.warmup + hook.job.requests)} callbacks took ${hook.signingMs.toFixed(0)} ms (load generator, before the run)`,
      );
      if (many)
        console.log(
          `  in flight (req/s x mean latency): webhook ${(rate(http) * (stats(http.latencies).mean / 1000)).toFixed(1)} ` +
            `of ${phase.concurrency} connections, pool ${options.pool}`,
        );
      for (const sample of [...(bareRun?.reply.result.errorSamples ?? []), ...http.errorSamples])
        console.log(`  error: ${sample}`);

      const s = stats(http.latencies);
      const bareStats = bareRun ? stats(bareRun.reply.result.latencies) : undefined;
      const line =
        `${String(phase.concurrency).padStart(3)} connection(s): webhook ${rate(http).toFixed(0)} req/s, p50 ${s.p50.toFixed(2)} ms, ` +
        `p95 ${s.p95.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms, errors ${http.errors}` +
        (bareRun && bareStats
          ? `; bare Hono ${rate(bareRun.reply.result).toFixed(0)} req/s, p99 ${bareStats.p99.toFixed(2)} ms: ` +
            `webhook/bare throughput ${(rate(http) / rate(bareRun.reply.result)).toFixed(3)}, p99 x${(s.p99 / bareStats.p99).toFixed(1)}`
          : "");
      console.log(`  ${line}`);
      summary.push(line);
      if (many)
        goalLine =
          `>= ${fmtInt(GOAL_RATE)} req/s: ${rate(http) >= GOAL_RATE ? "yes" : "no"} (${rate(http).toFixed(0)}); ` +
          `p99 <= ${GOAL_P99_MS} ms: ${s.p99 <= GOAL_P99_MS ? "yes" : "no"} (${s.p99.toFixed(2)}); ` +
          `no errors: ${http.errors === 0 ? "yes" : "no"} (${http.errors})`;
    }

    // Every callback sent: exactly one call_logs row and one receipt; the events were checked per phase.
    const sids = webhookRanges.flatMap(([first, sent]) =>
      Array.from({ length: sent }, (_, i) => callSidOf(runTag, first + i)),
    );
    const check = await sql<{ rows: number; matched: number; distinct: number; receipts: number; contacts: number }>`
      select (select count(*)::int from public.call_logs) as rows,
             (select count(*)::int from public.call_logs where call_sid = any(${sids})) as matched,
             (select count(distinct call_sid)::int from public.call_logs) as distinct,
             (select count(*)::int from public.webhook_receipts) as receipts,
             (select count(*)::int from public.contacts) as contacts`.execute(rawDatabase.owner);
    const c = check.rows[0] as { rows: number; matched: number; distinct: number; receipts: number; contacts: number };
    const rowsOk = c.rows === sids.length && c.matched === sids.length && c.distinct === sids.length;
    const rowsLine =
      `call_logs: ${fmtInt(c.rows)} rows (${fmtInt(c.distinct)} CallSids) for ${fmtInt(sids.length)} callbacks sent to the webhook ` +
      `(probe, warm-ups and measured), ${fmtInt(c.matched)} of them found: exactly one row per call: ${rowsOk ? "yes" : "NO"}; ` +
      `webhook_receipts ${fmtInt(c.receipts)}, contacts ${fmtInt(c.contacts)}; non-200 answers ${webhookErrors}`;

    console.log(
      `\nsummary (goals: >= ${fmtInt(GOAL_RATE)} req/s, p99 <= ${GOAL_P99_MS} ms, no errors, at ${options.connections} connections):`,
    );
    for (const line of summary) console.log(`  ${line}`);
    if (goalLine)
      console.log(
        `  goals: ${goalLine}; one call_logs row per call: ${rowsOk ? "yes" : "no"}; ` +
          `one call/completed per call: ${options.emit === "noop" ? "not sent (--emit noop)" : eventsOk ? "yes" : "no"}`,
      );
    console.log(`  ${rowsLine}`);
    console.log(
      `  (${cpus} CPUs for the load generator, the receiver, the API and PostgreSQL together; load average now ${loadavg()[0]?.toFixed(2)})`,
    );
  } finally {
    for (const child of children) {
      if (child.connected) child.disconnect();
      if (child.exitCode === null) child.kill();
    }
    for (const server of servers) {
      if ("closeAllConnections" in server) server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await rawDatabase.close();
  }
}

// ---------------------------------------------------------------------------------------
// Entry: the bench itself, or (forked by it) the load generator or the Inngest receiver.

if (process.argv[2] === "--load-generator") {
  process.on("message", (message: LoadCommand) => {
    (message.command === "prepare" ? prepareLoadJob(message.job) : fireLoadJob(message.job)).then(
      (reply) => process.send?.(reply),
      (error: Error) => process.send?.({ error: error.message }),
    );
  });
  process.on("disconnect", () => process.exit(0));
} else if (process.argv[2] === "--inngest-receiver") {
  runReceiver();
} else {
  await main(parseOptions(process.argv.slice(2)));
}
