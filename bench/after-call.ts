// Benchmark: the whole local product on the path it exists for. The product runs in its
// own process as `npm start` runs it (embedded database, local executor, Twilio sandbox,
// one event loop); its database is read through its socket (DB_PORT). A signed missed-call
// callback → the webhook → call-completed → deliver-message → WhatsApp at the sandbox →
// the sandbox's status callbacks → the job final. Goals: webhook → WhatsApp p95 <= 300 ms
// at 2 calls/s, a burst of 1,000 calls with every job final at >= 25 calls/s (issue 13).
import { createHash } from "node:crypto";
import { type Database, openDatabase } from "@callflow/db";
import { sql } from "kysely";
import {
  cpuWindow,
  describeCpu,
  figure,
  flags,
  keepAliveClient,
  Latencies,
  latencyFigures,
  ownCpuSeconds,
  peakRssMb,
  printMachine,
  printTable,
  processCpuSeconds,
  resetPeakRss,
  rssMb,
  runLoad,
  sleep,
} from "./measure.ts";
import { cpuProfilePreload, freePort, type ProductProcess, startProductProcess } from "./product-process.ts";
import { callSidOf, newRunTag, signedVoiceCallback, VOICE_WEBHOOK_PATH } from "./twilio-callbacks.ts";

const options = flags(
  "after-call: the local product, call → WhatsApp, and a burst of calls",
  {
    calls: 200,
    rate: 2,
    warmup: 10,
    burst: 1_000,
    concurrency: 32,
    // call-completed starts 2 runs a second per business: 32 businesses allow 64 calls/s, above the goal.
    orgs: 32,
    timeout: 600,
    only: "",
    // A directory: the product runs with the V8 profiler and writes its profile there on exit.
    cpuProfileDir: "",
  },
  { calls: 40, burst: 150, timeout: 300 },
);
const DEMO_ORG = "org_demo_northside_plumbing";
const businessOrg = (k: number) => (k === 0 ? DEMO_ORG : `org_bench_after_call_${k}`);
const businessNumber = (k: number) => (k === 0 ? "+15125550100" : `+1512555${String(150 + k).padStart(4, "0")}`);
/** Caller i: distinct numbers ending in 3..9, which the sandbox delivers on WhatsApp. */
const callerOf = (i: number) => `+1737555${String(Math.floor(i / 7)).padStart(3, "0")}${3 + (i % 7)}`;

// ---- setup: the product, its database socket, the businesses (through tRPC as an admin would)
printMachine("after-call");
const dbPort = await freePort();
const product = await startProductProcess({
  DB_PORT: String(dbPort),
  ...(options.cpuProfileDir ? { NODE_OPTIONS: `--require ${cpuProfilePreload(options.cpuProfileDir)}` } : {}),
});
const database = await openDatabase({
  databaseUrl: `postgresql://postgres@127.0.0.1:${dbPort}/postgres?sslmode=disable`,
  poolSize: 1,
});
const runTag = newRunTag();
let sent = 0;

async function setUpBusinesses(running: ProductProcess, db: Database): Promise<void> {
  for (let k = 0; k < options.orgs; k++) {
    const org = businessOrg(k);
    // Every call gets a message at any hour: no cooldown, no quiet hours.
    await running.trpc(org, "settings.update", { cooldown_seconds: 0, quiet_hours: null });
    if (k === 0) continue;
    await running.trpc(org, "phoneNumbers.add", { e164: businessNumber(k), label: "Bench line" });
    await running.trpc(org, "templates.create", {
      name: "Missed call",
      trigger: "missed",
      whatsappContentSid: `HX${createHash("md5").update(`bench missed ${k}`).digest("hex")}`,
      whatsappVariables: { "1": "{{business_name}}" },
      smsBody: "Hi, this is {{business_name}}. Sorry we missed your call; we will call you back shortly.",
    });
  }
  // Billing has no API to grant a plan: set as the seed sets the demo businesses'.
  const ids = Array.from({ length: options.orgs - 1 }, (_, i) => businessOrg(i + 1));
  await sql`
    insert into public.subscriptions (organization_id, plan, status, current_period_start, current_period_end)
    select id, 'growth', 'active', date_trunc('month', now()), date_trunc('month', now()) + interval '1 month'
    from unnest(${ids}::text[]) as id`.execute(db.owner);
}

/** Calls `count` missed calls: at `rate` per second (open loop) or over `concurrency` connections (closed loop). */
async function placeCalls(count: number, pace: { rate: number } | { concurrency: number }) {
  const first = sent;
  sent += count;
  const callbacks = Array.from({ length: count }, (_, i) =>
    signedVoiceCallback(product.url, {
      callSid: callSidOf(runTag, first + i),
      from: callerOf(first + i),
      to: businessNumber((first + i) % options.orgs),
    }),
  );
  const client = keepAliveClient(product.url, "rate" in pace ? 16 : pace.concurrency);
  const post = async (i: number) => {
    const callback = callbacks[i - first];
    const answer = await client.request("POST", VOICE_WEBHOOK_PATH, callback?.headers, callback?.body);
    if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${answer.body}`);
  };
  if ("concurrency" in pace) {
    const result = await runLoad({ clients: pace.concurrency, requests: count, firstIndex: first }, (_c, i) => post(i));
    client.close();
    return {
      sids: callbacks.map((_, i) => callSidOf(runTag, first + i)),
      webhook: result.latencies,
      rps: result.rps,
      errors: result.errors,
    };
  }
  const webhook = new Latencies();
  let errors = 0;
  const started = performance.now();
  const inFlight = callbacks.map(async (_, i) => {
    await sleep(started + (i * 1000) / pace.rate - performance.now());
    const at = performance.now();
    await post(first + i).then(
      () => webhook.record(performance.now() - at),
      () => errors++,
    );
  });
  await Promise.all(inFlight);
  client.close();
  return { sids: callbacks.map((_, i) => callSidOf(runTag, first + i)), webhook, rps: pace.rate, errors };
}

interface CallRow {
  logged: Date;
  job: Date | null;
  whatsapp: Date | null;
  completed: Date | null;
  status: string | null;
}

/** Each call's moments from the product's rows, the same machine's clock. */
async function callRows(sids: string[]): Promise<CallRow[]> {
  const { rows } = await sql<CallRow>`
    select c.created_at as logged, j.created_at as job, m.sent_at as whatsapp, j.completed_at as completed, j.status
    from public.call_logs c
    left join public.message_jobs j on j.call_log_id = c.id
    left join public.messages m on m.job_id = j.id and m.channel = 'whatsapp'
    where c.call_sid = any(${sids})`.execute(database.owner);
  return rows;
}

/** Polls until every call's job is final; returns the rows and when the last one finished. */
async function untilFinal(sids: string[]): Promise<CallRow[]> {
  const deadline = Date.now() + options.timeout * 1000;
  for (;;) {
    const rows = await callRows(sids);
    const final = rows.filter((row) => row.completed !== null).length;
    if (final === sids.length) return rows;
    if (Date.now() > deadline) {
      await describeUnfinished(sids);
      return rows;
    }
    await sleep(500);
  }
}

/** Where the calls whose job is not final stand: the job, and the executor's runs for it. */
async function describeUnfinished(sids: string[]) {
  const { rows } = await sql<{ call_sid: string; job: string | null; status: string | null; runs: unknown }>`
    select c.call_sid, j.id as job, j.status,
           (select json_agg(json_build_object('fn', r.function_id, 'status', r.status, 'attempt', r.attempt,
                                              'wait', r.wait_event, 'next_at', r.next_at, 'steps',
                                              (select count(*) from devstack.inngest_steps s where s.run_id = r.run_id))
                            order by r.created_at)
              from devstack.inngest_runs r
              where r.event->>'id' = c.call_sid or r.event->'data'->>'jobId' = j.id::text) as runs
    from public.call_logs c left join public.message_jobs j on j.call_log_id = c.id
    where c.call_sid = any(${sids}) and j.completed_at is null`.execute(database.owner);
  console.log(`\n${rows.length} of ${sids.length} calls not final at the deadline:`);
  for (const row of rows.slice(0, 10))
    console.log(`  ${row.call_sid} job ${row.job} ${row.status}: ${JSON.stringify(row.runs)}`);
}

const span = (rows: CallRow[], from: keyof CallRow, to: keyof CallRow) => {
  const latencies = new Latencies();
  for (const row of rows) {
    const [a, b] = [row[from], row[to]];
    if (a instanceof Date && b instanceof Date) latencies.record(b.getTime() - a.getTime());
  }
  return latencies.summary();
};

async function phaseReport(name: string, rows: CallRow[], count: number) {
  const delivered = rows.filter((row) => row.status === "delivered" && row.whatsapp).length;
  const stretches = [
    ["webhook → job written", span(rows, "logged", "job")],
    ["job → WhatsApp accepted", span(rows, "job", "whatsapp")],
    ["webhook → WhatsApp accepted", span(rows, "logged", "whatsapp")],
    ["webhook → job final", span(rows, "logged", "completed")],
  ] as const;
  printTable(
    [`${name}: ms`, "calls", "p50", "p95", "p99", "max"],
    stretches.map(([label, s]) => [label, s.count, s.p50, s.p95, s.p99, s.max]),
  );
  figure(`after_call_${name}_delivered_share`, delivered / count, "ratio");
  // A receipt that reached the executor before deliver-message waited for it: the job stays
  // "sending" until the fallback window (300 s) ends, then reads "delivered" from the database.
  const waitsTimedOut = rows.filter(
    (row) => row.whatsapp && row.completed && +row.completed - +row.whatsapp >= 295_000,
  );
  figure(`after_call_${name}_whatsapp_wait_timeouts`, waitsTimedOut.length, "count");
  return stretches;
}

/** Transactions the embedded database committed so far (its statistics, flushed first). */
async function transactions(): Promise<number> {
  await sql`select pg_stat_force_next_flush()`.execute(database.owner);
  const { rows } = await sql<{ n: number }>`
    select xact_commit::int as n from pg_stat_database where datname = current_database()`.execute(database.owner);
  return rows[0]?.n ?? Number.NaN;
}

// ---- phases
try {
  await setUpBusinesses(product, database);
  const probe = await placeCalls(1, { rate: 1 });
  const probeRows = await untilFinal(probe.sids);
  if (probeRows[0]?.status !== "delivered") throw new Error(`the first call ended ${probeRows[0]?.status}`);

  if (options.only !== "burst") {
    await untilFinal((await placeCalls(options.warmup, { rate: options.rate })).sids);
    const endCpu = cpuWindow({ api: () => processCpuSeconds(product.pid), loadGenerator: ownCpuSeconds });
    const latency = await placeCalls(options.calls, { rate: options.rate });
    const rows = await untilFinal(latency.sids);
    const cpu = endCpu();
    console.log(`\n--- latency: ${options.calls} calls at ${options.rate}/s; ${describeCpu(cpu)}`);
    const [, , toWhatsApp, toFinal] = await phaseReport("latency", rows, options.calls);
    latencyFigures("after_call_webhook_to_whatsapp", toWhatsApp[1], ["p50", "p95", "p99", "max"]);
    figure("after_call_webhook_to_final_p50", toFinal[1].p50, "ms");
    latencyFigures("after_call_webhook_answer", latency.webhook.summary(), ["p50", "p95"]);
    figure("after_call_latency_api_cpu_per_call", ((cpu.seconds.api ?? 0) * 1000) / options.calls, "ms");
  }

  if (options.only !== "latency") {
    const before = await transactions();
    resetPeakRss(product.pid);
    const rssBefore = rssMb(product.pid);
    const endCpu = cpuWindow({ api: () => processCpuSeconds(product.pid), loadGenerator: ownCpuSeconds });
    const burst = await placeCalls(options.burst, { concurrency: options.concurrency });
    const rows = await untilFinal(burst.sids);
    const cpu = endCpu();
    const peak = peakRssMb(product.pid);
    const after = await transactions();
    const first = Math.min(...rows.map((row) => row.logged.getTime()));
    const last = Math.max(...rows.map((row) => row.completed?.getTime() ?? Number.NaN));
    const seconds = (last - first) / 1000;
    console.log(
      `\n--- burst: ${options.burst} calls over ${options.concurrency} connections, every job final in ${seconds.toFixed(1)} s; ` +
        `${describeCpu(cpu)}; RSS ${rssBefore.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB`,
    );
    await phaseReport("burst", rows, options.burst);
    figure("after_call_burst_calls_per_s", options.burst / seconds, "calls/s");
    figure("after_call_burst_webhook_rps", burst.rps, "req/s");
    figure("after_call_burst_api_cpu_per_call", ((cpu.seconds.api ?? 0) * 1000) / options.burst, "ms");
    figure("after_call_burst_peak_rss", peak, "MB", "after_call_rss_before_burst");
    figure("after_call_rss_before_burst", rssBefore, "MB");
    figure("after_call_transactions_per_call", (after - before) / options.burst, "count");
    figure("after_call_burst_errors", burst.errors, "count");
  }
  const warnings = product.output
    .join("")
    .split("\n")
    .filter((line) => /"level":"(warn|error)"/.test(line));
  figure("after_call_log_warnings", warnings.length, "count");
  for (const line of warnings.slice(0, 5)) console.log(`  ${line.slice(0, 300)}`);
} finally {
  await database.close();
  await product.stop();
}
