// Benchmark: the dashboard's call list (newest first, keyset-paginated) under RLS.
//
// For one tenant of a 3-org table it times the first page and a keyset next page,
// once through `withTenant` (role `authenticated`, the policy does the org filtering)
// and once through `withService` (explicit `organization_id = …`), prints p50/p95/p99,
// the tenant/service p95 ratio and the plan of the tenant query. It prints figures; it
// does not pass or fail.
//
//   npx tsx rls-pagination.ts [--lane server|pglite|all] [--fresh]
//                             [--iterations 500] [--warmup 50]
//                             [--rows 1000000] [--pglite-rows N] [--pglite-budget 240]
//                             [--pglite-dir /tmp/callflow-bench-pglite | --pglite-memory]
//
// Server lane: BENCH_DATABASE_URL (any database on the server; `callflow_bench` is created
// next to it) or, when unset, the URL printed by `bash scripts/pg-server.sh`.

import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { type Database, migrate, openDatabase, type SessionClaims, type Tx } from "@callflow/db";
import { sql } from "kysely";
import { benchEnv } from "./env.ts";

// ---------------------------------------------------------------------------------------
// Options

interface Options {
  lane: "server" | "pglite" | "all";
  fresh: boolean;
  iterations: number;
  warmup: number;
  rows: number;
  pgliteRows: number;
  pgliteBudgetSeconds: number;
  pgliteDir: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    lane: "all",
    fresh: false,
    iterations: 500,
    warmup: 50,
    rows: 1_000_000,
    pgliteRows: Number.NaN,
    pgliteBudgetSeconds: 240,
    pgliteDir: benchEnv.BENCH_PGLITE_DIR,
  };
  const value = (index: number, flag: string): string => {
    const next = argv[index + 1];
    if (next === undefined || next.startsWith("--")) throw new Error(`${flag} needs a value`);
    return next;
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
      return value(i++, flag);
    };
    switch (flag) {
      case "--lane": {
        const lane = arg();
        if (lane !== "server" && lane !== "pglite" && lane !== "all")
          throw new Error(`--lane server|pglite|all, got ${lane}`);
        options.lane = lane;
        break;
      }
      case "--": // `pnpm bench -- --lane server`
        break;
      case "--fresh":
        options.fresh = true;
        break;
      case "--iterations":
        options.iterations = Math.max(1, count(arg(), flag));
        break;
      case "--warmup":
        options.warmup = count(arg(), flag);
        break;
      case "--rows":
        options.rows = Math.max(100, count(arg(), flag));
        break;
      case "--pglite-rows":
        options.pgliteRows = Math.max(100, count(arg(), flag));
        break;
      case "--pglite-budget":
        options.pgliteBudgetSeconds = count(arg(), flag);
        break;
      case "--pglite-dir":
        options.pgliteDir = arg();
        break;
      case "--pglite-memory":
        options.pgliteDir = undefined;
        break;
      case "--help":
      case "-h":
        console.log(
          "usage: tsx rls-pagination.ts [--lane server|pglite|all] [--fresh] [--iterations N] [--warmup N]\n" +
            "                             [--rows N] [--pglite-rows N] [--pglite-budget SECONDS]\n" +
            "                             [--pglite-dir DIR | --pglite-memory]",
        );
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument: ${argv[i]}`);
    }
  }
  // PGlite loads ~10k rows/s (3,000,000 rows: ~6 minutes), so it gets a smaller table by default.
  if (Number.isNaN(options.pgliteRows)) options.pgliteRows = Math.min(options.rows, PGLITE_DEFAULT_ROWS);
  return options;
}

// ---------------------------------------------------------------------------------------
// Data

/** Rows per org in the PGlite lane unless --pglite-rows says otherwise. */
const PGLITE_DEFAULT_ROWS = 250_000;
const ORGS = ["org_bench_a", "org_bench_b", "org_bench_c"] as const;
const TENANT_ORG = ORGS[0];
const TENANT: SessionClaims = { sub: "user_bench", o: { id: TENANT_ORG, rol: "admin" } };
const PAGE_SIZE = 50;
/** Rows per insert statement; orgs are filled round-robin so they stay the same size. */
const CHUNK_ROWS = 250_000;

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const fmtInt = (n: number): string => n.toLocaleString("en-US");

async function rowsPerOrg(database: Database): Promise<Map<string, number>> {
  const result = await sql<{ organization_id: string; n: number }>`
    select organization_id, count(*)::int as n from public.call_logs group by organization_id`.execute(database.owner);
  return new Map(result.rows.map((row) => [row.organization_id, row.n]));
}

/** Equal-sized bench orgs and nothing else: the size per org, else undefined. */
function uniformSize(counts: Map<string, number>): number | undefined {
  if (counts.size !== ORGS.length) return undefined;
  const sizes = new Set(ORGS.map((org) => counts.get(org) ?? -1));
  const [size] = [...sizes];
  return sizes.size === 1 && size !== undefined && size > 0 ? size : undefined;
}

/**
 * One set-based insert: rows [from, to] of `org`. Values are derived from the series
 * number, so reruns produce the same table: CallSid `CA` + md5 (unique, 32 hex), outcome
 * cycling missed/answered/voicemail, started_at at whole seconds spread over the last
 * 365 days by a multiplicative hash (so heap order and time order are uncorrelated:
 * each page's 50 rows sit on ~50 different heap pages, the unfavourable case).
 */
async function insertChunk(
  database: Database,
  org: string,
  from: number,
  to: number,
  now: string,
  skipForeignKeyChecks: boolean,
): Promise<void> {
  await database.owner.transaction().execute(async (tx) => {
    // The org rows exist; skipping the per-row foreign key triggers saves ~30% of the load.
    if (skipForeignKeyChecks) await sql`set local session_replication_role = replica`.execute(tx);
    await insertChunkRows(tx, org, from, to, now);
  });
}

async function insertChunkRows(tx: Tx, org: string, from: number, to: number, now: string): Promise<void> {
  await sql`
    insert into public.call_logs
      (organization_id, call_sid, from_number, to_number, direction, status, outcome,
       duration_seconds, started_at, ended_at, created_at, updated_at)
    select ${org},
           'CA' || md5(${org}::text || ':' || g),
           '+1555' || lpad(((g::bigint * 7919) % 10000000)::text, 7, '0'),
           '+15550000000',
           'inbound',
           'completed',
           (array['missed', 'answered', 'voicemail'])[g % 3 + 1],
           d.duration,
           t.started_at,
           t.started_at + make_interval(secs => d.duration),
           t.started_at + make_interval(secs => d.duration),
           t.started_at + make_interval(secs => d.duration)
    from generate_series(${from}::int, ${to}::int) as g
    cross join lateral (
      select ${now}::timestamptz - make_interval(secs => ((g::bigint * 2654435761) % 31536000)::int) as started_at
    ) as t
    cross join lateral (
      select case g % 3 when 0 then 0 when 1 then 20 + g % 600 else 10 + g % 60 end as duration
    ) as d`.execute(tx);
}

/**
 * Loads `perOrg` rows for each bench org unless the table already holds exactly that.
 * With a time budget (PGlite) loading stops at the first chunk boundary past the budget;
 * the orgs are then smaller but still equal. Returns the rows per org in the table.
 */
async function ensureData(
  database: Database,
  perOrg: number,
  budgetMs: number,
): Promise<{ perOrg: number; loadedNow: boolean }> {
  const existing = uniformSize(await rowsPerOrg(database));
  if (existing === perOrg) {
    console.log(`data: reusing ${fmtInt(existing)} call_logs per org x ${ORGS.length} orgs (--fresh to rebuild)`);
    return { perOrg: existing, loadedNow: false };
  }
  if (existing !== undefined)
    console.log(`data: table holds ${fmtInt(existing)} rows per org, want ${fmtInt(perOrg)}: rebuilding`);

  const started = performance.now();
  // The bench database is ours alone: cascade empties the tables that reference call_logs.
  await sql`truncate public.call_logs cascade`.execute(database.owner);
  await sql`delete from public.organizations where id in (${sql.join([...ORGS])})`.execute(database.owner);
  await database.owner
    .insertInto("organizations")
    .values(ORGS.map((id) => ({ id, name: `Bench ${id.slice(-1).toUpperCase()}` })))
    .execute();
  const nowText = (await sql<{ now: string }>`select date_trunc('second', now())::text as now`.execute(database.owner))
    .rows[0]?.now;
  if (!nowText) throw new Error("no now()");

  // Superusers (a local server, PGlite) may switch off triggers for the load; others cannot.
  const superuser = await sql<{
    yes: boolean;
  }>`select rolsuper as yes from pg_roles where rolname = current_user`.execute(database.owner);
  const skipForeignKeyChecks = superuser.rows[0]?.yes === true;

  let loaded = 0;
  while (loaded < perOrg) {
    const next = Math.min(perOrg, loaded + CHUNK_ROWS);
    for (const org of ORGS) await insertChunk(database, org, loaded + 1, next, nowText, skipForeignKeyChecks);
    loaded = next;
    const elapsed = performance.now() - started;
    const rate = (loaded * ORGS.length) / (elapsed / 1000);
    console.log(
      `  loaded ${fmtInt(loaded)} / ${fmtInt(perOrg)} per org (${fmtInt(loaded * ORGS.length)} rows) in ${seconds(elapsed)}, ${fmtInt(Math.round(rate))} rows/s`,
    );
    if (loaded < perOrg && elapsed > budgetMs) {
      console.log(`  time budget of ${seconds(budgetMs)} spent: stopping at ${fmtInt(loaded)} rows per org`);
      break;
    }
  }
  const insertMs = performance.now() - started;
  const analyzeStarted = performance.now();
  // vacuum also sets hint bits and the visibility map, so the first timed reads do not pay for them.
  await sql`vacuum (analyze) public.call_logs`.execute(database.owner);
  await sql`analyze public.organizations`.execute(database.owner);
  const analyzeMs = performance.now() - analyzeStarted;
  console.log(
    `data: loaded ${fmtInt(loaded * ORGS.length)} call_logs (${fmtInt(loaded)} per org x ${ORGS.length}) ` +
      `in ${seconds(insertMs)} + vacuum analyze ${seconds(analyzeMs)} = ${seconds(insertMs + analyzeMs)}` +
      (skipForeignKeyChecks ? " (foreign key triggers off during the insert: session_replication_role = replica)" : ""),
  );
  return { perOrg: loaded, loadedNow: true };
}

async function describeTable(database: Database): Promise<string> {
  const result = await sql<{ table: string; indexes: string }>`
    select pg_size_pretty(pg_table_size('public.call_logs')) as table,
           pg_size_pretty(pg_indexes_size('public.call_logs')) as indexes`.execute(database.owner);
  const row = result.rows[0];
  return row ? `call_logs size: heap ${row.table}, indexes ${row.indexes}` : "";
}

// ---------------------------------------------------------------------------------------
// Queries (the dashboard list). Tenant mode has no org filter: the RLS policy
// `organization_id = (select app.org_id())` does it. Service mode bypasses RLS and filters.

interface Cursor {
  started_at: Date;
  id: string;
}

type Mode = "tenant" | "service";

function pageQuery(tx: Tx, mode: Mode, cursor: Cursor | undefined) {
  let query = tx.selectFrom("call_logs").selectAll();
  if (mode === "service") query = query.where("organization_id", "=", TENANT_ORG);
  if (cursor) {
    query = query.where(sql<boolean>`(started_at, id) < (${cursor.started_at}::timestamptz, ${cursor.id}::uuid)`);
  }
  return query.orderBy("started_at", "desc").orderBy("id", "desc").limit(PAGE_SIZE);
}

function run<T>(database: Database, mode: Mode, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return mode === "tenant" ? database.withTenant(TENANT, fn) : database.withService(fn);
}

/** One page; returns [transaction ms, query ms, rows]. */
async function timedPage(database: Database, mode: Mode, cursor: Cursor | undefined) {
  let queryMs = 0;
  const started = performance.now();
  const rows = await run(database, mode, async (tx) => {
    const queryStarted = performance.now();
    const result = await pageQuery(tx, mode, cursor).execute();
    queryMs = performance.now() - queryStarted;
    return result;
  });
  return { txMs: performance.now() - started, queryMs, rows };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length); // nearest rank
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

interface Stats {
  p50: number;
  p95: number;
  p99: number;
  mean: number;
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    mean: samples.reduce((sum, x) => sum + x, 0) / samples.length,
  };
}

const ms = (x: number): string => x.toFixed(3).padStart(8);

interface KindResult {
  kind: string;
  tx: Record<Mode, Stats>;
  query: Record<Mode, Stats>;
}

async function measure(
  database: Database,
  kind: string,
  cursor: Cursor | undefined,
  options: Options,
): Promise<KindResult> {
  const samples = {
    tx: { tenant: [] as number[], service: [] as number[] },
    query: { tenant: [] as number[], service: [] as number[] },
  };
  for (let i = 0; i < options.warmup + options.iterations; i++) {
    // Alternate which mode goes first so drift (cache, GC, autovacuum) hits both alike.
    const order: Mode[] = i % 2 === 0 ? ["tenant", "service"] : ["service", "tenant"];
    for (const mode of order) {
      const { txMs, queryMs, rows } = await timedPage(database, mode, cursor);
      if (rows.length !== PAGE_SIZE) throw new Error(`${kind}/${mode}: got ${rows.length} rows, want ${PAGE_SIZE}`);
      if (i >= options.warmup) {
        samples.tx[mode].push(txMs);
        samples.query[mode].push(queryMs);
      }
    }
  }
  return {
    kind,
    tx: { tenant: stats(samples.tx.tenant), service: stats(samples.tx.service) },
    query: { tenant: stats(samples.query.tenant), service: stats(samples.query.service) },
  };
}

function printResults(results: KindResult[], options: Options): void {
  console.log(
    `\ntimings in ms, ${options.iterations} iterations per query kind and mode after ${options.warmup} warm-up, modes interleaved`,
  );
  console.log(
    "  tx    = the whole withTenant/withService call: begin + set_config + query + commit (what a request pays)",
  );
  console.log("  query = the select alone, timed inside the transaction");
  console.log(
    `\n  ${"query kind".padEnd(12)} ${"mode".padEnd(8)} ${"timed".padEnd(6)} ${"p50".padStart(8)} ${"p95".padStart(8)} ${"p99".padStart(8)} ${"mean".padStart(8)}`,
  );
  for (const result of results) {
    for (const what of ["tx", "query"] as const) {
      for (const mode of ["tenant", "service"] as const) {
        const s = result[what][mode];
        console.log(
          `  ${result.kind.padEnd(12)} ${mode.padEnd(8)} ${what.padEnd(6)} ${ms(s.p50)} ${ms(s.p95)} ${ms(s.p99)} ${ms(s.mean)}`,
        );
      }
    }
  }
  console.log("\n  goals: tenant p95 / service p95 <= 1.2; tenant p95 <= 5 ms");
  for (const result of results) {
    for (const what of ["tx", "query"] as const) {
      const tenant = result[what].tenant.p95;
      const service = result[what].service.p95;
      const ratio = tenant / service;
      console.log(
        `  ${result.kind.padEnd(12)} ${what.padEnd(6)} tenant p95 ${tenant.toFixed(3)} ms / service p95 ${service.toFixed(3)} ms = ratio ${ratio.toFixed(2)} (<= 1.2: ${ratio <= 1.2 ? "yes" : "no"}); tenant p95 <= 5 ms: ${tenant <= 5 ? "yes" : "no"}; service p95 <= 5 ms: ${service <= 5 ? "yes" : "no"}`,
      );
    }
  }
}

async function explain(database: Database, mode: Mode, cursor: Cursor | undefined): Promise<string> {
  const rows = await run(database, mode, (tx) =>
    pageQuery(tx, mode, cursor).explain<{ "QUERY PLAN": string }>(undefined, sql`analyze, costs off`),
  );
  return rows.map((row) => row["QUERY PLAN"]).join("\n");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `    ${line}`)
    .join("\n");
}

// ---------------------------------------------------------------------------------------
// A lane: same measurements on whichever database it is given.

async function benchLane(label: string, database: Database, perOrg: number, options: Options): Promise<void> {
  console.log(await describeTable(database));
  console.log(
    `tenant ${TENANT_ORG}: ${fmtInt(perOrg)} rows; page size ${PAGE_SIZE}; order by started_at desc, id desc`,
  );

  // Cursors, and a check that both modes page identically and keyset = offset.
  const first = await database.withTenant(TENANT, (tx) => pageQuery(tx, "tenant", undefined).execute());
  const firstService = await database.withService((tx) => pageQuery(tx, "service", undefined).execute());
  const last = first.at(-1);
  if (!last) throw new Error("the tenant sees no rows: is the RLS claim lookup working?");
  const nextCursor: Cursor = { started_at: last.started_at, id: last.id };
  const next = await database.withTenant(TENANT, (tx) => pageQuery(tx, "tenant", nextCursor).execute());
  const byOffset = await database.withService((tx) =>
    tx
      .selectFrom("call_logs")
      .select("id")
      .where("organization_id", "=", TENANT_ORG)
      .orderBy("started_at", "desc")
      .orderBy("id", "desc")
      .limit(PAGE_SIZE)
      .offset(PAGE_SIZE)
      .execute(),
  );
  const sameFirst = first.every((row, i) => row.id === firstService[i]?.id) && first.length === firstService.length;
  const sameNext = next.every((row, i) => row.id === byOffset[i]?.id) && next.length === byOffset.length;
  const foreign = [...first, ...next].filter((row) => row.organization_id !== TENANT_ORG).length;
  console.log(
    `checks: tenant first page = service first page: ${sameFirst ? "yes" : "NO"}; keyset next page = offset 50: ${sameNext ? "yes" : "NO"}; rows of other orgs seen by tenant: ${foreign}`,
  );

  // A deep page too (cursor half-way through the tenant's rows): keyset cost should not grow.
  const middle = await database.withService((tx) =>
    tx
      .selectFrom("call_logs")
      .select(["started_at", "id"])
      .where("organization_id", "=", TENANT_ORG)
      .orderBy("started_at", "desc")
      .orderBy("id", "desc")
      .offset(Math.floor(perOrg / 2))
      .limit(1)
      .executeTakeFirstOrThrow(),
  );
  const deepCursor: Cursor = { started_at: middle.started_at, id: middle.id };

  console.log(`load average before timing: ${loadavg()[0]?.toFixed(2)} (1 min) on ${availableParallelism()} CPUs`);
  // What one round trip costs here at all, to read the figures below against.
  const baseline: number[] = [];
  for (let i = 0; i < options.warmup + options.iterations; i++) {
    const started = performance.now();
    await sql`select 1`.execute(database.owner);
    if (i >= options.warmup) baseline.push(performance.now() - started);
  }
  const base = stats(baseline);
  console.log(
    `baseline: one 'select 1' round trip outside a transaction: p50 ${base.p50.toFixed(3)} ms, p95 ${base.p95.toFixed(3)} ms, p99 ${base.p99.toFixed(3)} ms`,
  );
  const results: KindResult[] = [];
  results.push(await measure(database, "first page", undefined, options));
  results.push(await measure(database, "next page", nextCursor, options));
  results.push(await measure(database, `deep page`, deepCursor, options));
  console.log(`(deep page = keyset cursor at row ${fmtInt(Math.floor(perOrg / 2))} of ${fmtInt(perOrg)})`);
  printResults(results, options);

  const plan = await explain(database, "tenant", undefined);
  const hasInitPlan = /InitPlan/.test(plan);
  const hasIndexScan = /Index Scan( Backward)? using call_logs_org_started_at on call_logs/.test(plan);
  const indexCondOnClaim = /Index Cond: \(organization_id = (\$\d+|\(InitPlan \d+\)\.col\d+)\)/.test(plan);
  const noSort = !/\bSort\b/.test(plan);
  console.log(`\n[${label}] explain (analyze, costs off) of the tenant first page, inside withTenant:`);
  console.log(indent(plan));
  console.log(`  InitPlan for the claim lookup: ${hasInitPlan ? "yes" : "no"}`);
  console.log(`  Index Scan on call_logs_org_started_at: ${hasIndexScan ? "yes" : "no"}`);
  console.log(
    `  (also: org filter is the index condition: ${indexCondOnClaim ? "yes" : "no"}; no Sort node: ${noSort ? "yes" : "no"})`,
  );

  const nextPlan = await explain(database, "tenant", nextCursor);
  console.log(`\n[${label}] explain (analyze, costs off) of the tenant next page, inside withTenant:`);
  console.log(indent(nextPlan));
}

// ---------------------------------------------------------------------------------------
// Lanes

function serverUrl(): string {
  const fromEnv = benchEnv.BENCH_DATABASE_URL;
  if (fromEnv) return fromEnv;
  const script = fileURLToPath(new URL("../scripts/pg-server.sh", import.meta.url));
  const out = execFileSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  const url = out.split("\n").at(-1);
  if (!url?.startsWith("postgres")) throw new Error(`scripts/pg-server.sh printed no URL: ${out}`);
  return url;
}

async function serverLane(options: Options): Promise<void> {
  console.log("\n=== PostgreSQL server lane ===");
  const adminUrl = serverUrl();
  const benchUrl = new URL(adminUrl);
  benchUrl.pathname = "/callflow_bench";
  const admin = await openDatabase({ databaseUrl: adminUrl, poolSize: 1 });
  try {
    const version = await sql<{ v: string }>`select current_setting('server_version') as v`.execute(admin.owner);
    console.log(`server: PostgreSQL ${version.rows[0]?.v} at ${benchUrl.host}, database callflow_bench`);
    if (options.fresh) {
      await sql`drop database if exists callflow_bench with (force)`.execute(admin.owner);
      console.log("--fresh: dropped callflow_bench");
    }
    const exists = await sql`select 1 from pg_database where datname = 'callflow_bench'`.execute(admin.owner);
    if (exists.rows.length === 0) await sql`create database callflow_bench`.execute(admin.owner);
  } finally {
    await admin.close();
  }

  // One connection: the requests run one after another, as one API instance's would.
  const database = await openDatabase({ databaseUrl: benchUrl.toString(), poolSize: 1 });
  try {
    const { applied } = await migrate(database);
    console.log(applied.length ? `migrated: ${applied.length} migration(s)` : "schema up to date");
    const { perOrg } = await ensureData(database, options.rows, Number.POSITIVE_INFINITY);
    await benchLane("server", database, perOrg, options);
  } finally {
    await database.close();
  }
}

async function pgliteLane(options: Options): Promise<void> {
  console.log("\n=== PGlite lane (embedded, in process) ===");
  const dir = options.pgliteDir;
  if (dir && options.fresh) {
    rmSync(dir, { recursive: true, force: true });
    console.log(`--fresh: removed ${dir}`);
  }
  console.log(dir ? `PGlite data directory: ${dir}` : "PGlite in memory");
  const opened = performance.now();
  const database = await openDatabase(dir ? { dataDir: dir } : { inMemory: true });
  try {
    const version = await sql<{ v: string }>`select current_setting('server_version') as v`.execute(database.owner);
    console.log(`PGlite: PostgreSQL ${version.rows[0]?.v}, opened in ${seconds(performance.now() - opened)}`);
    const { applied } = await migrate(database);
    console.log(applied.length ? `migrated: ${applied.length} migration(s)` : "schema up to date");
    const { perOrg } = await ensureData(database, options.pgliteRows, options.pgliteBudgetSeconds * 1000);
    if (perOrg !== options.rows) {
      console.log(
        `NOTE: PGlite table size used: ${fmtInt(perOrg)} call_logs per org, ${fmtInt(perOrg * ORGS.length)} in all ` +
          `(server lane: ${fmtInt(options.rows)} per org; --pglite-rows ${options.rows} for the same size, ~6 min to load 3M rows)`,
      );
    }
    await benchLane("pglite", database, perOrg, options);
    const memory = process.memoryUsage();
    console.log(
      `\nprocess memory: rss ${(memory.rss / 2 ** 20).toFixed(0)} MiB, array buffers ${(memory.arrayBuffers / 2 ** 20).toFixed(0)} MiB`,
    );
  } finally {
    await database.close();
  }
}

const options = parseOptions(process.argv.slice(2));
console.log(
  `rls-pagination bench: lane ${options.lane}, ${fmtInt(options.rows)} call_logs per org x ${ORGS.length} orgs ` +
    `(PGlite: ${fmtInt(options.pgliteRows)} per org), node ${process.version}`,
);
console.log(
  `machine: ${availableParallelism()} CPUs, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")} (other work on the machine shows up in the tails)`,
);
if (options.lane === "server" || options.lane === "all") await serverLane(options);
if (options.lane === "pglite" || options.lane === "all") await pgliteLane(options);
