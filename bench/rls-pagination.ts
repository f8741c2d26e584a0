// Benchmark: the dashboard's call list (newest first, keyset pages) under row-level
// security, SQL alone: one tenant of a 3-org table through `withTenant` (the policy
// filters) against `withService` with an explicit org filter (the in-run baseline), on the
// PostgreSQL server and on PGlite. Goals: tenant p95 / service p95 <= 1.2, p95 <= 5 ms.
import { rmSync } from "node:fs";
import { type Database, migrate, openDatabase, type Tx } from "@callflow/db";
import { sql } from "kysely";
import {
  type Cursor,
  callLogsDatabase,
  ensureCallLogs,
  type Mode,
  PAGE_SIZE,
  page,
  pageQuery,
  TENANT,
  TENANT_ORG,
} from "./call-logs-dataset.ts";
import { benchEnv } from "./env.ts";
import { figure, flags, Latencies, latencyFigures, printMachine, printTable, timeEach } from "./measure.ts";
import { benchDatabaseUrl } from "./postgres-server.ts";

const options = flags(
  "rls-pagination: the call list under RLS, SQL only (--lane server|pglite|all)",
  { lane: "all", fresh: false, iterations: 500, warmup: 50, rows: 1_000_000, pgliteRows: 250_000, pgliteBudget: 240 },
  { iterations: 200, rows: 100_000, pgliteRows: 50_000 },
);

// ---- setup

async function serverLane(): Promise<void> {
  const url = await benchDatabaseUrl(callLogsDatabase(options.rows), options.fresh);
  const database = await openDatabase({ databaseUrl: url, poolSize: 1 });
  try {
    await migrate(database);
    await benchLane("server", database, await ensureCallLogs(database, options.rows, Number.POSITIVE_INFINITY));
  } finally {
    await database.close();
  }
}

async function pgliteLane(): Promise<void> {
  // Its own directory per size: PGlite loads ~10k rows/s, so a loaded table is kept between runs.
  const dir = `${benchEnv.BENCH_PGLITE_DIR}-${options.pgliteRows}`;
  if (options.fresh) rmSync(dir, { recursive: true, force: true });
  const database = await openDatabase({ dataDir: dir });
  try {
    await migrate(database);
    await benchLane("pglite", database, await ensureCallLogs(database, options.pgliteRows, options.pgliteBudget));
    console.log(`process RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`);
  } finally {
    await database.close();
  }
}

// ---- phases

async function cursors(database: Database, perOrg: number) {
  const first = await page(database, "tenant");
  const service = await page(database, "service");
  const last = first.at(-1);
  if (!last) throw new Error("the tenant sees no rows: is the RLS claim lookup working?");
  const next: Cursor = { started_at: last.started_at, id: last.id };
  const nextPage = await page(database, "tenant", next);
  const byOffset = await database.withService((tx) =>
    pageQuery(tx, "service", undefined).clearLimit().limit(PAGE_SIZE).offset(PAGE_SIZE).execute(),
  );
  const same = (a: Array<{ id: string }>, b: Array<{ id: string }>) =>
    a.length === b.length && a.every((row, i) => row.id === b[i]?.id);
  const foreign = [...first, ...nextPage].filter((row) => row.organization_id !== TENANT_ORG).length;
  console.log(
    `checks: tenant = service first page ${same(first, service)}; keyset next page = offset 50 ${same(nextPage, byOffset)}; other orgs' rows seen ${foreign}`,
  );
  const middle = await database.withService((tx) =>
    pageQuery(tx, "service", undefined)
      .clearLimit()
      .limit(1)
      .offset(Math.floor(perOrg / 2))
      .executeTakeFirstOrThrow(),
  );
  return { first: undefined, next, deep: { started_at: middle.started_at, id: middle.id } };
}

/** Tenant and service interleaved (drift hits both alike): the whole transaction and the select inside it. */
async function measureKind(database: Database, cursor: Cursor | undefined) {
  const timings = {
    tenant: { tx: new Latencies(), query: new Latencies() },
    service: { tx: new Latencies(), query: new Latencies() },
  };
  for (let i = 0; i < options.warmup + options.iterations; i++) {
    for (const mode of (i % 2 ? ["service", "tenant"] : ["tenant", "service"]) as Mode[]) {
      let queryMs = 0;
      const started = performance.now();
      const timed = async (tx: Tx) => {
        const queryStarted = performance.now();
        const rows = await pageQuery(tx, mode, cursor).execute();
        queryMs = performance.now() - queryStarted;
        return rows;
      };
      const rows = mode === "tenant" ? await database.withTenant(TENANT, timed) : await database.withService(timed);
      if (rows.length !== PAGE_SIZE) throw new Error(`${mode}: ${rows.length} rows, want ${PAGE_SIZE}`);
      if (i < options.warmup) continue;
      timings[mode].tx.record(performance.now() - started);
      timings[mode].query.record(queryMs);
    }
  }
  return timings;
}

async function benchLane(lane: string, database: Database, perOrg: number): Promise<void> {
  console.log(`\n=== ${lane}: ${perOrg.toLocaleString("en-US")} call_logs per org, tenant ${TENANT_ORG}`);
  const kinds = await cursors(database, perOrg);
  const roundTrip = await timeEach(options.iterations, options.warmup, () => sql`select 1`.execute(database.owner));
  const results = [];
  for (const [kind, cursor] of Object.entries(kinds)) results.push({ kind, ...(await measureKind(database, cursor)) });
  const plan = (
    await database.withTenant(TENANT, (tx) =>
      pageQuery(tx, "tenant", undefined).explain<{ "QUERY PLAN": string }>(undefined, sql`analyze, costs off`),
    )
  )
    .map((row) => row["QUERY PLAN"])
    .join("\n");

  // ---- report
  console.log(
    `ms, ${options.iterations} per kind and mode after ${options.warmup} warm-up; tx = begin..commit, query = the select`,
  );
  const rows = results.flatMap((r) =>
    (["tenant", "service"] as const).flatMap((mode) =>
      (["tx", "query"] as const).map((what) => {
        const s = r[mode][what].summary();
        return [r.kind, mode, what, s.p50, s.p95, s.p99, s.mean];
      }),
    ),
  );
  printTable(["kind", "mode", "timed", "p50", "p95", "p99", "mean"], rows);
  console.log(`plan of the tenant first page:\n${plan.replace(/^/gm, "    ")}`);
  latencyFigures(`rls_${lane}_select_1`, roundTrip.summary(), ["p50"]);
  for (const r of results) {
    const prefix = `rls_${lane}_${r.kind}_page`;
    const tenant = r.tenant.tx.summary();
    const service = r.service.tx.summary();
    latencyFigures(`${prefix}_tenant`, tenant, ["p50", "p95"], `${prefix}_service`);
    latencyFigures(`${prefix}_service`, service, ["p50", "p95"]);
    figure(`${prefix}_tenant_query_p95`, r.tenant.query.summary().p95, "ms", `${prefix}_service_query_p95`);
    figure(`${prefix}_service_query_p95`, r.service.query.summary().p95, "ms");
    figure(`${prefix}_tenant_vs_service_p95`, tenant.p95 / service.p95, "ratio");
  }
  figure(`rls_${lane}_plan_initplan`, /InitPlan/.test(plan) ? 1 : 0, "bool");
  figure(
    `rls_${lane}_plan_index_scan`,
    /Index Scan( Backward)? using call_logs_org_started_at/.test(plan) ? 1 : 0,
    "bool",
  );
}

printMachine("rls-pagination");
if (options.lane !== "pglite") await serverLane();
if (options.lane !== "server") await pgliteLane();
