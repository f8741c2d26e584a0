// Benchmark: the dashboard's call list end to end: `GET /trpc/calls.list` over HTTP,
// through Hono, tRPC, the session verifier and `withTenant` (RLS) on the PostgreSQL server.
//
// The API runs in this process (createApp over openDatabase with a pool, served by
// @hono/node-server on a free port of 127.0.0.1, log level silent, rate limit out of
// the way) and verifies tokens from a dev issuer made for the run. The load comes from a
// child process (its own event loop, so the clients' work does not queue behind the
// API's): N keep-alive clients, each sending its next request when the last one
// answered, a share of them keyset next pages with the cursor the API returned.
// The same query is then run directly through `database.withTenant` (no HTTP, no tRPC)
// with the same concurrency and pool, to read the HTTP figures against. It prints
// figures; it does not pass or fail.
//
//   npx tsx api-calls-list.ts [--clients 50] [--requests 10000] [--duration 20]
//                             [--warmup 500] [--serial-requests 2000] [--pool 20]
//                             [--next-share 0.25] [--rows 1000000]
//
// Server: BENCH_DATABASE_URL (any database on the server; `callflow_bench` next to it)
// or, when unset, the URL printed by `bash scripts/pg-server.sh`. The data is the one
// rls-pagination.ts loads; when it is missing this bench runs that loader first.

import { type ChildProcess, execFileSync, fork } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { Agent, get as httpGet } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { type Database, migrate, openDatabase, type SessionClaims } from "@callflow/db";
import { openDevTokenIssuer } from "@callflow/devstack";
import { serve } from "@hono/node-server";
import { sql } from "kysely";
import { chooseAuth } from "../apps/api/src/auth/auth-mode.ts";
import { createApp } from "../apps/api/src/http/app.ts";
import { createLog } from "../apps/api/src/log.ts";
import { cursorAt, olderThan, page } from "../apps/api/src/trpc/pagination.ts";
import { benchEnv, inheritedEnvironment } from "./env.ts";

// ---------------------------------------------------------------------------------------
// Options

interface Options {
  clients: number;
  requests: number;
  durationSeconds: number;
  warmup: number;
  serialRequests: number;
  pool: number;
  nextShare: number;
  /** Pause of each client between its requests, ms (0: closed loop at full speed). */
  thinkMs: number;
  rows: number;
  /** Skip the direct lane (e.g. to profile the HTTP path alone with --cpu-prof). */
  httpOnly: boolean;
}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    clients: 50,
    requests: 10_000,
    durationSeconds: 20,
    warmup: 500,
    serialRequests: 2_000,
    pool: 20,
    nextShare: 0.25,
    thinkMs: 0,
    rows: 1_000_000,
    httpOnly: false,
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
      case "--": // `pnpm bench:api -- --clients 10`
        break;
      case "--clients":
        options.clients = Math.max(1, count(arg(), flag));
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
      case "--next-share": {
        const share = Number(arg());
        if (!(share >= 0 && share <= 1)) throw new Error("--next-share takes a fraction from 0 to 1");
        options.nextShare = share;
        break;
      }
      case "--think":
        options.thinkMs = count(arg(), flag);
        break;
      case "--rows":
        options.rows = Math.max(100, count(arg(), flag));
        break;
      case "--http-only":
        options.httpOnly = true;
        break;
      case "--help":
      case "-h":
        console.log(
          "usage: tsx api-calls-list.ts [--clients N] [--requests N] [--duration SECONDS] [--warmup N]\n" +
            "                             [--serial-requests N (0: no one-client phase)] [--pool N]\n" +
            "                             [--next-share FRACTION] [--think MS] [--rows N per org] [--http-only]",
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

const ORGS = ["org_bench_a", "org_bench_b", "org_bench_c"] as const;
const TENANT_ORG = ORGS[0];
const TENANT_USER = "user_bench";
const PAGE_SIZE = 50;
const WEB_ORIGIN = "http://localhost:5173";
const GOAL_P95_MS = 25;

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

/** One run at a given concurrency: what the load loop reports back. */
interface RunResult {
  /** Latencies of the measured (post-warm-up) requests that succeeded, ms. */
  latencies: number[];
  completed: number;
  errors: number;
  errorSamples: string[];
  nextPages: number;
  elapsedMs: number;
  responseBytes: number;
}

/** Decides, per client, which requests follow the cursor: `share` of them, evenly spread. */
function nextPagePicker(share: number, client: number) {
  let credit = (client * 0.37) % 1; // clients out of phase with each other
  return (haveCursor: boolean): boolean => {
    credit += share;
    if (credit >= 1 && haveCursor) {
      credit -= 1;
      return true;
    }
    if (credit >= 1) credit -= 1;
    return false;
  };
}

/**
 * N loops, each issuing its next request when the previous one completed, until
 * `requests` have been issued or `durationMs` has passed; the first `warmup` requests
 * are issued the same way before and not recorded.
 */
async function closedLoop(
  concurrency: number,
  job: { warmup: number; requests: number; durationMs: number; nextShare: number; thinkMs: number },
  once: (client: number, cursor: string | null) => Promise<{ nextCursor: string | null; bytes: number }>,
): Promise<RunResult> {
  const result: RunResult = {
    latencies: [],
    completed: 0,
    errors: 0,
    errorSamples: [],
    nextPages: 0,
    elapsedMs: 0,
    responseBytes: 0,
  };
  const phase = async (total: number, durationMs: number, record: boolean) => {
    let issued = 0;
    const started = performance.now();
    const deadline = started + durationMs;
    const loop = async (client: number) => {
      const pick = nextPagePicker(job.nextShare, client);
      let cursor: string | null = null;
      while (issued < total && performance.now() < deadline) {
        issued++;
        const next = pick(cursor !== null);
        const requestStarted = performance.now();
        try {
          const answer = await once(client, next ? cursor : null);
          const ms = performance.now() - requestStarted;
          cursor = answer.nextCursor;
          if (record) {
            result.latencies.push(ms);
            result.completed++;
            result.responseBytes += answer.bytes;
            if (next) result.nextPages++;
          }
        } catch (error) {
          cursor = null;
          if (record) {
            result.errors++;
            if (result.errorSamples.length < 5) result.errorSamples.push((error as Error).message);
          }
        }
        if (job.thinkMs > 0) await new Promise((resolve) => setTimeout(resolve, job.thinkMs));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, client) => loop(client)));
    return performance.now() - started;
  };
  if (job.warmup > 0) await phase(job.warmup, Number.POSITIVE_INFINITY, false);
  result.elapsedMs = await phase(job.requests, job.durationMs, true);
  return result;
}

// ---------------------------------------------------------------------------------------
// The load generator (child process): keep-alive HTTP clients against the API.

interface LoadJob {
  url: string;
  token: string;
  concurrency: number;
  warmup: number;
  requests: number;
  durationMs: number;
  nextShare: number;
  thinkMs: number;
}

interface LoadReply {
  result: RunResult;
  eventLoopUtilization: number;
}

function listPath(cursor: string | null): string {
  const input = cursor ? { limit: PAGE_SIZE, cursor } : { limit: PAGE_SIZE };
  return `/trpc/calls.list?input=${encodeURIComponent(JSON.stringify(input))}`;
}

async function runLoadJob(job: LoadJob): Promise<LoadReply> {
  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency, maxFreeSockets: job.concurrency });
  const headers = { authorization: `Bearer ${job.token}` };
  const once = (_client: number, cursor: string | null) =>
    new Promise<{ nextCursor: string | null; bytes: number }>((resolve, reject) => {
      const request = httpGet(`${job.url}${listPath(cursor)}`, { agent, headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", reject);
        response.on("end", () => {
          const body = Buffer.concat(chunks);
          if (response.statusCode !== 200) {
            reject(new Error(`HTTP ${response.statusCode}: ${body.toString("utf8").slice(0, 200)}`));
            return;
          }
          try {
            const data = (JSON.parse(body.toString("utf8")) as { result: { data: CallPage } }).result.data;
            if (data.items.length !== PAGE_SIZE) throw new Error(`got ${data.items.length} items`);
            resolve({ nextCursor: data.nextCursor, bytes: body.length });
          } catch (error) {
            reject(error);
          }
        });
      });
      request.on("error", reject);
    });
  const elu = performance.eventLoopUtilization();
  const result = await closedLoop(job.concurrency, job, once);
  agent.destroy();
  return { result, eventLoopUtilization: performance.eventLoopUtilization(elu).utilization };
}

interface CallPage {
  items: Array<{ id: string }>;
  nextCursor: string | null;
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
  /** Ticks per postgres process of this bench (see postgresTicks). */
  postgres: Map<number, number>;
}

function processTicks(pid: number): number {
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
 * to callflow_bench (their process title names the database) and the server's shared
 * background processes (checkpointer, WAL writer, ...). Backends of other databases,
 * e.g. another test run's on the same server, count as "other".
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
        / callflow_bench /.test(title) ||
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
      loadGenerator: loadGeneratorPid ? processTicks(loadGeneratorPid) : 0,
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
  const postgres = cores(postgresDelta(before.postgres, after.postgres));
  return {
    machine,
    api,
    loadGenerator,
    postgres,
    other: Math.max(0, machine - api - loadGenerator - postgres),
    seconds,
  };
}

function describeCpu(use: CpuUse, withHttp: boolean): string {
  return (
    `CPU (cores busy, of ${availableParallelism()}): machine ${use.machine.toFixed(2)} = ` +
    `${withHttp ? "API process" : "this process"} ${use.api.toFixed(2)}` +
    (withHttp ? ` + load generator ${use.loadGenerator.toFixed(2)}` : "") +
    ` + postgres ${use.postgres.toFixed(2)} + other ${use.other.toFixed(2)}`
  );
}

// ---------------------------------------------------------------------------------------
// Database and data

function serverUrl(): string {
  const fromEnv = benchEnv.BENCH_DATABASE_URL;
  if (fromEnv) return fromEnv;
  const script = fileURLToPath(new URL("../scripts/pg-server.sh", import.meta.url));
  const out = execFileSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  const url = out.split("\n").at(-1);
  if (!url?.startsWith("postgres")) throw new Error(`scripts/pg-server.sh printed no URL: ${out}`);
  return url;
}

async function benchDatabaseExists(adminUrl: string): Promise<boolean> {
  const admin = await openDatabase({ databaseUrl: adminUrl, poolSize: 1 });
  try {
    const exists = await sql`select 1 from pg_database where datname = 'callflow_bench'`.execute(admin.owner);
    return exists.rows.length > 0;
  } finally {
    await admin.close();
  }
}

async function rowsPerOrg(database: Database): Promise<Map<string, number>> {
  const result = await sql<{ organization_id: string; n: number }>`
    select organization_id, count(*)::int as n from public.call_logs group by organization_id`.execute(database.owner);
  return new Map(result.rows.map((row) => [row.organization_id, row.n]));
}

function hasData(counts: Map<string, number>, perOrg: number): boolean {
  return counts.size === ORGS.length && ORGS.every((org) => counts.get(org) === perOrg);
}

/** rls-pagination.ts owns the loader: run it (server lane, one timing iteration) to load. */
function runLoader(rows: number): void {
  console.log(`data: missing or not ${fmtInt(rows)} per org: running rls-pagination.ts's loader (~3-4 min for 1M/org)`);
  const script = fileURLToPath(new URL("./rls-pagination.ts", import.meta.url));
  execFileSync(
    process.execPath,
    [...process.execArgv, script, "--lane", "server", "--rows", String(rows), "--iterations", "1", "--warmup", "0"],
    { stdio: "inherit", env: inheritedEnvironment() },
  );
}

// ---------------------------------------------------------------------------------------
// Direct lane: the calls.list query and page shaping, through withTenant, no HTTP/tRPC.

const TENANT: SessionClaims = { sub: TENANT_USER, o: { id: TENANT_ORG, rol: "admin", slg: "bench-a" } };

function decodeCursor(cursor: string): { at: string; id: string } {
  const [at, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [string, string];
  return { at, id };
}

/** The body of `calls.list` (apps/api/src/trpc/router/calls.ts) with only limit and cursor. */
async function listDirect(database: Database, cursor: string | null) {
  return database.withTenant(TENANT, async (tx) => {
    let query = tx
      .selectFrom("call_logs")
      .select([
        "id",
        "call_sid",
        "from_number",
        "to_number",
        "status",
        "outcome",
        "duration_seconds",
        "started_at",
        "ended_at",
      ])
      .select(cursorAt("started_at"))
      .orderBy("started_at", "desc")
      .orderBy("id", "desc")
      .limit(PAGE_SIZE + 1);
    if (cursor) query = query.where(olderThan("started_at", decodeCursor(cursor)));
    return page(await query.execute(), PAGE_SIZE);
  });
}

async function runDirect(database: Database, concurrency: number, job: Omit<LoadJob, "url" | "token" | "concurrency">) {
  return closedLoop(concurrency, job, async (_client, cursor) => {
    const result = await listDirect(database, cursor);
    if (result.items.length !== PAGE_SIZE) throw new Error(`got ${result.items.length} items`);
    return { nextCursor: result.nextCursor, bytes: 0 };
  });
}

// ---------------------------------------------------------------------------------------
// Reporting

const ms = (x: number): string => x.toFixed(2).padStart(8);

function header(): string {
  return `  ${"lane".padEnd(26)} ${"requests".padStart(8)} ${"errors".padStart(6)} ${"req/s".padStart(8)} ${"p50".padStart(8)} ${"p95".padStart(8)} ${"p99".padStart(8)} ${"mean".padStart(8)} ${"max".padStart(8)}`;
}

function row(label: string, result: RunResult): string {
  const s = stats(result.latencies);
  const rate = result.completed / (result.elapsedMs / 1000);
  return `  ${label.padEnd(26)} ${String(result.completed).padStart(8)} ${String(result.errors).padStart(6)} ${rate.toFixed(0).padStart(8)} ${ms(s.p50)} ${ms(s.p95)} ${ms(s.p99)} ${ms(s.mean)} ${ms(s.max)}`;
}

function serverRow(label: string, samples: number[]): string {
  const s = stats(samples);
  return `  ${label.padEnd(26)} ${String(s.n).padStart(8)} ${"".padStart(6)} ${"".padStart(8)} ${ms(s.p50)} ${ms(s.p95)} ${ms(s.p99)} ${ms(s.mean)} ${ms(s.max)}`;
}

// ---------------------------------------------------------------------------------------
// Main

async function main(options: Options): Promise<void> {
  const cpus = availableParallelism();
  console.log(
    `api-calls-list bench: GET /trpc/calls.list {"limit":${PAGE_SIZE}} as ${TENANT_ORG} (admin), ` +
      `${options.clients} clients, pool ${options.pool}, next pages ${Math.round(options.nextShare * 100)}%` +
      `${options.thinkMs ? `, ${options.thinkMs} ms pause between a client's requests` : ", no pause between a client's requests"}, node ${process.version}`,
  );
  console.log(
    `machine: ${cpus} CPUs, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}. The ${cpus} cores are shared by the load generator (child process), the API ` +
      "(this process) and PostgreSQL, and anything else running: the figures are those of one small box, " +
      "not a deployed API's capacity.",
  );
  console.log(
    "CPU figures below come from /proc: postgres = callflow_bench's backends and the server's background " +
      "processes; other = everything else on the machine (other programs, other databases' backends, the kernel).",
  );

  const adminUrl = serverUrl();
  const benchUrl = new URL(adminUrl);
  benchUrl.pathname = "/callflow_bench";
  if (!(await benchDatabaseExists(adminUrl))) runLoader(options.rows);

  let database = await openDatabase({ databaseUrl: benchUrl.toString(), poolSize: options.pool });
  let loadGenerator: ChildProcess | undefined;
  let server: ReturnType<typeof serve> | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), "callflow-bench-api-"));
  try {
    const { applied } = await migrate(database);
    if (applied.length) console.log(`migrated: ${applied.length} migration(s)`);
    let counts = await rowsPerOrg(database);
    if (!hasData(counts, options.rows)) {
      await database.close();
      runLoader(options.rows);
      database = await openDatabase({ databaseUrl: benchUrl.toString(), poolSize: options.pool });
      counts = await rowsPerOrg(database);
      if (!hasData(counts, options.rows)) throw new Error("the loader did not leave the expected data");
    }
    const version = await sql<{ v: string }>`select current_setting('server_version') as v`.execute(database.owner);
    console.log(
      `server: PostgreSQL ${version.rows[0]?.v} at ${benchUrl.host}, database callflow_bench: ` +
        `${ORGS.map((org) => `${org} ${fmtInt(counts.get(org) ?? 0)}`).join(", ")} call_logs`,
    );

    // The API, as main.ts composes it, over the bench database; tokens from a dev issuer.
    const { verifySession } = chooseAuth({ dataDir, authorizedParties: [WEB_ORIGIN] });
    const issuer = openDevTokenIssuer(dataDir);
    const token = issuer.issue({ orgId: TENANT_ORG, role: "admin", userId: TENANT_USER, authorizedParty: WEB_ORIGIN });
    const app = createApp({
      database,
      verifySession,
      log: createLog("silent"),
      webOrigins: [WEB_ORIGIN],
      rateLimitPerMinute: 1_000_000_000,
      maxBodyBytes: 64 * 1024,
      maxBatchSize: 10,
    });
    // Time spent inside app.fetch (Hono + tRPC + session + withTenant), to split the
    // client's latency into the app's part and the rest (HTTP, event-loop queueing, client).
    let serverSamples: number[] | null = null;
    const timedFetch = async (request: Request, env: unknown) => {
      const started = performance.now();
      const response = await app.fetch(request, env);
      serverSamples?.push(performance.now() - started);
      return response;
    };
    server = serve({ fetch: timedFetch, port: 0, hostname: "127.0.0.1" });
    await new Promise<void>((resolve) => server?.once("listening", () => resolve()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    // One request by hand: the API answers, and what an answer weighs.
    const probe = await fetch(`${url}${listPath(null)}`, { headers: { authorization: `Bearer ${token}` } });
    const probeBody = await probe.text();
    if (probe.status !== 200) throw new Error(`probe: HTTP ${probe.status}: ${probeBody.slice(0, 300)}`);
    const probePage = (JSON.parse(probeBody) as { result: { data: CallPage } }).result.data;
    console.log(
      `API at ${url}: probe HTTP 200, ${probePage.items.length} items, ${fmtInt(probeBody.length)} bytes of JSON, ` +
        `next cursor ${probePage.nextCursor ? "present" : "MISSING"}`,
    );

    const script = fileURLToPath(import.meta.url);
    const child = fork(script, ["--load-generator"], { execArgv: process.execArgv, stdio: "inherit" });
    loadGenerator = child;
    const runHttp = (job: LoadJob) =>
      new Promise<LoadReply>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`load generator exited (${code})`));
        child.once("exit", onExit);
        child.once("message", (reply: LoadReply | { error: string }) => {
          child.off("exit", onExit);
          if ("error" in reply) reject(new Error(`load generator: ${reply.error}`));
          else resolve(reply);
        });
        child.send(job);
      });

    const phases: Array<{ concurrency: number; requests: number; warmup: number }> = [];
    if (options.serialRequests > 0)
      phases.push({ concurrency: 1, requests: options.serialRequests, warmup: Math.min(options.warmup, 200) });
    phases.push({ concurrency: options.clients, requests: options.requests, warmup: options.warmup });

    const summary: string[] = [];
    for (const phase of phases) {
      const job = {
        warmup: phase.warmup,
        requests: phase.requests,
        durationMs: options.durationSeconds * 1000,
        nextShare: options.nextShare,
        thinkMs: options.thinkMs,
      };
      console.log(
        `\n--- ${phase.concurrency} client${phase.concurrency === 1 ? "" : "s"}: up to ${fmtInt(phase.requests)} requests ` +
          `or ${options.durationSeconds} s per lane, after ${fmtInt(phase.warmup)} warm-up; pool ${options.pool}; ` +
          `load average ${loadavg()[0]?.toFixed(2)}`,
      );

      const directBefore = cpuSnapshot(undefined);
      const direct = options.httpOnly ? undefined : await runDirect(database, phase.concurrency, job);
      const directCpu = cpuUse(directBefore, cpuSnapshot(undefined));

      // The app-side timer also sees the warm-up requests: the first `warmup` samples are dropped.
      serverSamples = [];
      const httpBefore = cpuSnapshot(child.pid);
      const apiElu = performance.eventLoopUtilization();
      const reply = await runHttp({ url, token, concurrency: phase.concurrency, ...job });
      const apiUtilization = performance.eventLoopUtilization(apiElu).utilization;
      const httpCpu = cpuUse(httpBefore, cpuSnapshot(child.pid));
      const appSamples = serverSamples.slice(phase.warmup);
      serverSamples = null;
      const http = reply.result;

      console.log(header());
      if (direct) console.log(row("direct (withTenant, no HTTP)", direct));
      console.log(row("HTTP GET /trpc/calls.list", http));
      console.log(serverRow("  of which inside app.fetch", appSamples));
      const httpStats = stats(http.latencies);
      const directStats = direct ? stats(direct.latencies) : undefined;
      console.log(
        `  latencies in ms; next pages: ${direct ? `direct ${fmtInt(direct.nextPages)}, ` : ""}HTTP ${fmtInt(http.nextPages)}; ` +
          `HTTP answers ${fmtInt(Math.round(http.responseBytes / Math.max(1, http.completed)))} bytes on average`,
      );
      const rate = (r: RunResult) => r.completed / (r.elapsedMs / 1000);
      const inFlight = (r: RunResult) => rate(r) * (stats(r.latencies).mean / 1000);
      if (phase.concurrency > 1)
        console.log(
          `  in flight (req/s x mean latency): ${direct ? `direct ${inFlight(direct).toFixed(1)}, ` : ""}HTTP ${inFlight(http).toFixed(1)} ` +
            `of ${phase.concurrency} clients; latency above the one-client figure is queueing for CPU and the ${options.pool} connections`,
        );
      // Node CPU per request: what the work costs, whatever the queueing.
      // (The CPU window includes the warm-up requests, so they are counted too.)
      const perRequest = (use: CpuUse, cores: number, r: RunResult) =>
        `${((cores * use.seconds * 1000) / Math.max(1, r.completed + r.errors + phase.warmup)).toFixed(2)} ms`;
      if (direct && directCpu)
        console.log(
          `  direct: ${describeCpu(directCpu, false)}; this process's CPU per request ${perRequest(directCpu, directCpu.api, direct)}`,
        );
      if (httpCpu)
        console.log(
          `  HTTP:   ${describeCpu(httpCpu, true)}; API process CPU per request ${perRequest(httpCpu, httpCpu.api, http)}, ` +
            `load generator ${perRequest(httpCpu, httpCpu.loadGenerator, http)}, postgres ${perRequest(httpCpu, httpCpu.postgres, http)}`,
        );
      console.log(
        `  HTTP:   event loop busy: API ${(apiUtilization * 100).toFixed(0)}%, load generator ${(reply.eventLoopUtilization * 100).toFixed(0)}%`,
      );
      for (const sample of [...(direct?.errorSamples ?? []), ...http.errorSamples]) console.log(`  error: ${sample}`);
      const line =
        `${String(phase.concurrency).padStart(3)} client(s): HTTP ${rate(http).toFixed(0)} req/s, p50 ${httpStats.p50.toFixed(2)} ms, ` +
        `p95 ${httpStats.p95.toFixed(2)} ms, p99 ${httpStats.p99.toFixed(2)} ms, errors ${http.errors}` +
        (directStats
          ? `; direct p95 ${directStats.p95.toFixed(2)} ms (${rate(direct as RunResult).toFixed(0)} req/s): HTTP/direct p95 ratio ${(httpStats.p95 / directStats.p95).toFixed(2)}`
          : "") +
        `; HTTP p95 <= ${GOAL_P95_MS} ms: ${httpStats.p95 <= GOAL_P95_MS ? "yes" : "no"}`;
      console.log(`  ${line}`);
      summary.push(line);
    }

    console.log(`\nsummary (goal: HTTP p95 <= ${GOAL_P95_MS} ms at ${options.clients} clients):`);
    for (const line of summary) console.log(`  ${line}`);
    console.log(
      `  (${cpus} CPUs for the load generator, the API and PostgreSQL together; load average now ${loadavg()[0]?.toFixed(2)})`,
    );
  } finally {
    if (loadGenerator?.connected) loadGenerator.disconnect();
    if (loadGenerator && loadGenerator.exitCode === null) loadGenerator.kill();
    if (server) {
      if ("closeAllConnections" in server) server.closeAllConnections();
      await new Promise<void>((resolve) => server?.close(() => resolve()));
    }
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------
// Entry: the bench itself, or (forked by it) the load generator.

if (process.argv[2] === "--load-generator") {
  process.on("message", (job: LoadJob) => {
    runLoadJob(job).then(
      (reply) => process.send?.(reply),
      (error: Error) => process.send?.({ error: error.message }),
    );
  });
  process.on("disconnect", () => process.exit(0));
} else {
  await main(parseOptions(process.argv.slice(2)));
}
