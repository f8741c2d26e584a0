// Benchmark: the dashboard's call list end to end, `GET /trpc/calls.list` over HTTP against
// the product in its own process (started as `npm start` starts it, on the PostgreSQL
// server holding rls-pagination's data), from keep-alive clients in this process; a quarter
// of the requests follow the returned cursor. In-run baseline: the same page query through
// `readAsTenant` (as tRPC queries run) from this process with the same pool size and concurrency (no HTTP, no tRPC).
// Then the dashboard's once-a-second poll, `GET /trpc/live.changes`, the same way: what every
// open dashboard costs the API and Postgres. Goal: HTTP p95 <= 25 ms at 50 clients.
import { migrate, openDatabase } from "@callflow/db";
import {
  type Cursor,
  callLogsDatabase,
  ensureCallLogs,
  PAGE_SIZE,
  pageQuery,
  TENANT,
  TENANT_ORG,
} from "./call-logs-dataset.ts";
import {
  cpuWindow,
  describeCpu,
  figure,
  flags,
  keepAliveClient,
  type LoadResult,
  latencyFigures,
  ownCpuSeconds,
  peakRssMb,
  postgresCpu,
  printMachine,
  printTable,
  processCpuSeconds,
  resetPeakRss,
  rssMb,
  runLoad,
} from "./measure.ts";
import { benchDatabaseUrl } from "./postgres-server.ts";
import { cpuProfilePreload, startProductProcess } from "./product-process.ts";

const options = flags(
  "api-calls-list: calls.list over HTTP against the product in its own process",
  {
    clients: 50,
    requests: 10_000,
    duration: 20,
    warmup: 500,
    serialRequests: 2_000,
    pool: 20,
    rows: 1_000_000,
    // API_PROCESSES: node:cluster workers on one port; their CPU and peak RSS are summed.
    apiProcesses: 1,
    // A directory: the product runs with the V8 profiler and writes its profile there on exit.
    cpuProfileDir: "",
  },
  { requests: 3_000, duration: 8, warmup: 200, serialRequests: 500, rows: 100_000 },
);

// ---- setup
printMachine("api-calls-list");
const databaseName = callLogsDatabase(options.rows);
const databaseUrl = await benchDatabaseUrl(databaseName, false);
const database = await openDatabase({ databaseUrl, poolSize: options.pool });
await migrate(database);
await ensureCallLogs(database, options.rows, Number.POSITIVE_INFINITY);
const product = await startProductProcess({
  DATABASE_URL: databaseUrl,
  DATABASE_POOL_SIZE: String(options.pool),
  API_PROCESSES: String(options.apiProcesses),
  ...(options.cpuProfileDir ? { NODE_OPTIONS: `--require ${cpuProfilePreload(options.cpuProfileDir)}` } : {}),
});
const token = product.token(TENANT_ORG);
// The processes that serve the API: the product's, or its cluster workers.
const apiPids = options.apiProcesses > 1 ? product.workerPids() : [product.pid];
const http = keepAliveClient(product.url, options.clients);

async function httpLane(clients: number, requests: number, warmup: number): Promise<LoadResult> {
  // Every fourth request of a client follows the cursor its last answer gave.
  const cursors = new Map<number, string | null>();
  return runLoad({ clients, requests, warmup, seconds: options.duration }, async (client, index) => {
    const cursor = index % 4 === 3 ? cursors.get(client) : null;
    const input = cursor ? { limit: PAGE_SIZE, cursor } : { limit: PAGE_SIZE };
    const path = `/trpc/calls.list?input=${encodeURIComponent(JSON.stringify(input))}`;
    const answer = await http.request("GET", path, { authorization: `Bearer ${token}` });
    if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
    const data = (JSON.parse(answer.body) as { result: { data: { items: unknown[]; nextCursor: string | null } } })
      .result.data;
    if (data.items.length !== PAGE_SIZE) throw new Error(`${data.items.length} items`);
    cursors.set(client, data.nextCursor);
  });
}

async function directLane(clients: number, requests: number, warmup: number): Promise<LoadResult> {
  const cursors = new Map<number, Cursor | undefined>();
  return runLoad({ clients, requests, warmup, seconds: options.duration }, async (client, index) => {
    const cursor = index % 4 === 3 ? cursors.get(client) : undefined;
    // As the product runs a query: readAsTenant (the set-up and the query in one message).
    const rows = await database.readAsTenant(TENANT, (tx) => pageQuery(tx, "tenant", cursor).execute());
    if (rows.length !== PAGE_SIZE) throw new Error(`${rows.length} rows`);
    const last = rows.at(-1);
    cursors.set(client, last && { started_at: last.started_at, id: last.id });
  });
}

/** The dashboard's once-a-second poll (live.changes): one row, whatever the org holds. */
async function pollLane(clients: number, requests: number, warmup: number): Promise<LoadResult> {
  return runLoad({ clients, requests, warmup, seconds: options.duration }, async () => {
    const answer = await http.request("GET", "/trpc/live.changes", { authorization: `Bearer ${token}` });
    if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
    const data = (JSON.parse(answer.body) as { result: { data: { version: string } } }).result.data;
    if (!data.version.includes("|")) throw new Error(`version ${data.version}`);
  });
}

/** A lane against the product, with the CPU each side spent and the API's peak RSS over it. */
async function overHttp(lane: () => Promise<LoadResult>) {
  const endCpu = cpuWindow({
    api: () => apiPids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0),
    loadGenerator: ownCpuSeconds,
    postgres: postgresCpu(databaseName),
  });
  // The product's memory over this load: its RSS before, and its peak (VmHWM, reset first).
  const rssBefore = Math.max(...apiPids.map(rssMb));
  for (const pid of apiPids) resetPeakRss(pid);
  const result = await lane();
  return { result, peakRss: Math.max(...apiPids.map(peakRssMb)), rssBefore, cpu: endCpu() };
}

function cpuFigures(prefix: string, lane: Awaited<ReturnType<typeof overHttp>>) {
  const requests = lane.result.issued;
  figure(`${prefix}_api_cpu_per_request`, ((lane.cpu.seconds.api ?? 0) * 1000) / requests, "ms");
  figure(`${prefix}_postgres_cpu_per_request`, ((lane.cpu.seconds.postgres ?? 0) * 1000) / requests, "ms");
}

// ---- phases
try {
  const phases = [
    { name: "1_client", clients: 1, requests: options.serialRequests, warmup: Math.min(200, options.warmup) },
    {
      name: `${options.clients}_clients`,
      clients: options.clients,
      requests: options.requests,
      warmup: options.warmup,
    },
  ].filter((phase) => phase.requests > 0);
  for (const phase of phases) {
    const direct = await directLane(phase.clients, phase.requests, phase.warmup);
    const list = await overHttp(() => httpLane(phase.clients, phase.requests, phase.warmup));
    const poll = await overHttp(() => pollLane(phase.clients, phase.requests, phase.warmup));

    // ---- report
    console.log(`\n--- ${phase.clients} client(s), ${phase.warmup} warm-up, pool ${options.pool}: latencies in ms`);
    const row = (label: string, r: LoadResult) => {
      const s = r.latencies.summary();
      return [label, r.completed, r.errors, r.rps, s.p50, s.p95, s.p99, s.mean, s.max];
    };
    printTable(
      ["lane", "requests", "errors", "req/s", "p50", "p95", "p99", "mean", "max"],
      [
        row("direct (readAsTenant, no HTTP)", direct),
        row("HTTP GET /trpc/calls.list", list.result),
        row("HTTP GET /trpc/live.changes", poll.result),
      ],
    );
    console.log(`  calls.list: ${describeCpu(list.cpu)}`);
    console.log(`  live.changes: ${describeCpu(poll.cpu)}`);
    for (const sample of [...direct.errorSamples, ...list.result.errorSamples, ...poll.result.errorSamples])
      console.log(`  error: ${sample}`);
    const prefix = `api_calls_list_${phase.name}`;
    const viaHttp = list.result;
    figure(`${prefix}_rps`, viaHttp.rps, "req/s", `${prefix}_direct_rps`);
    figure(`${prefix}_direct_rps`, direct.rps, "req/s");
    latencyFigures(prefix, viaHttp.latencies.summary(), ["p50", "p95", "p99"], `${prefix}_direct`);
    latencyFigures(`${prefix}_direct`, direct.latencies.summary(), ["p50", "p95", "p99"]);
    figure(`${prefix}_http_vs_direct_p95`, viaHttp.latencies.summary().p95 / direct.latencies.summary().p95, "ratio");
    cpuFigures(prefix, list);
    figure(`${prefix}_api_peak_rss`, list.peakRss, "MB", `${prefix}_api_rss_before`);
    figure(`${prefix}_api_rss_before`, list.rssBefore, "MB");
    figure(`${prefix}_errors`, viaHttp.errors + direct.errors, "count");
    const pollPrefix = `api_live_changes_${phase.name}`;
    figure(`${pollPrefix}_rps`, poll.result.rps, "req/s", `${prefix}_rps`);
    latencyFigures(pollPrefix, poll.result.latencies.summary(), ["p50", "p95", "p99"]);
    cpuFigures(pollPrefix, poll);
    figure(`${pollPrefix}_api_peak_rss`, poll.peakRss, "MB");
    figure(`${pollPrefix}_errors`, poll.result.errors, "count");
  }
} finally {
  http.close();
  await product.stop();
  await database.close();
}
