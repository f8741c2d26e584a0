// Benchmark: one API process against two (API_PROCESSES=2: node:cluster workers on one port),
// the same load on each: Twilio's voice status callback at 64 connections, on the PostgreSQL
// server, `call/completed` sent with the real Inngest client to a receiver in this process
// (INNGEST_DEV). Figures: each setup's req/s and p99, their ratio, and the peak RSS of one
// API process under that load. The load generator shares the machine: on 2 cores the second
// process competes with it and with Postgres, so the ratio says what one more core is worth.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism } from "node:os";
import { openDatabase } from "@callflow/db";
import {
  figure,
  flags,
  keepAliveClient,
  type LoadResult,
  latencyFigures,
  peakRssMb,
  printMachine,
  printTable,
  processCpuSeconds,
  resetPeakRss,
  runLoad,
  sleep,
} from "./measure.ts";
import { benchDatabaseUrl } from "./postgres-server.ts";
import { type ProductProcess, startProductProcess } from "./product-process.ts";
import { callSidOf, newRunTag, signedVoiceCallback, VOICE_WEBHOOK_PATH } from "./twilio-callbacks.ts";

const options = flags(
  "api-processes: POST /webhooks/twilio/voice against 1 API process and against 2 (API_PROCESSES=2)",
  { connections: 64, requests: 20_000, duration: 30, warmup: 1_000, pool: 10 },
  { requests: 4_000, duration: 10, warmup: 300 },
);
const ORG = "org_bench_processes";
const BUSINESS_NUMBER = "+15550100002";

printMachine("api-processes");
// Inngest's event API, answered at once: the relay's sends cost the API what they would cost against Inngest.
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const sent = [JSON.parse(Buffer.concat(chunks).toString("utf8"))].flat() as Array<{ id?: string }>;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ids: sent.map((event) => event.id), status: 200 }));
  });
});
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
const runTag = newRunTag();
let nextIndex = 0;

/** The product with `processes` API processes on a fresh database, every worker answering. */
async function startSetup(processes: number): Promise<{ product: ProductProcess; apiPids: number[] }> {
  const databaseUrl = await benchDatabaseUrl(`callflow_bench_processes_${processes}`, true);
  const product = await startProductProcess({
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: String(options.pool),
    INNGEST_DEV: receiverUrl,
    API_PROCESSES: String(processes),
    LOG_LEVEL: "silent",
  });
  // The number the callbacks ring, owned by a business (the migrations ran in the product).
  const database = await openDatabase({ databaseUrl, poolSize: 1 });
  await database.owner.insertInto("organizations").values({ id: ORG, name: "Bench processes" }).execute();
  await database.owner
    .insertInto("phone_numbers")
    .values({ organization_id: ORG, e164: BUSINESS_NUMBER, label: "main" })
    .execute();
  await database.close();
  // Every worker takes connections once it listens: 20 answers in a row means none is still starting.
  for (let ok = 0, tries = 0; ok < 20 && tries < 600; tries++) {
    ok = (await fetch(`${product.url}/readyz`).then(
      (r) => r.ok,
      () => false,
    ))
      ? ok + 1
      : 0;
    if (ok === 0) await sleep(100);
  }
  const apiPids = processes > 1 ? product.workerPids() : [product.pid];
  if (apiPids.length !== processes) throw new Error(`expected ${processes} API processes, found ${apiPids.length}`);
  return { product, apiPids };
}

async function load(product: ProductProcess): Promise<LoadResult> {
  const first = nextIndex;
  const total = options.warmup + options.requests;
  const callbacks = Array.from({ length: total }, (_, i) =>
    signedVoiceCallback(product.url, {
      callSid: callSidOf(runTag, first + i),
      from: `+1512${String(3_000_000 + ((first + i) % 5_000)).padStart(7, "0")}`,
      to: BUSINESS_NUMBER,
      answered: i % 2 === 1,
    }),
  );
  const client = keepAliveClient(product.url, options.connections);
  const result = await runLoad(
    {
      clients: options.connections,
      requests: options.requests,
      warmup: options.warmup,
      seconds: options.duration,
      firstIndex: first,
    },
    async (_client, index) => {
      const callback = callbacks[index - first] as (typeof callbacks)[number];
      const answer = await client.request("POST", VOICE_WEBHOOK_PATH, callback.headers, callback.body);
      if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
    },
  );
  client.close();
  nextIndex = first + result.issued;
  return result;
}

try {
  const rows: Array<Array<string | number>> = [];
  const results = new Map<number, LoadResult>();
  for (const processes of [1, 2]) {
    const { product, apiPids } = await startSetup(processes);
    try {
      for (const pid of apiPids) resetPeakRss(pid);
      const cpuBefore = apiPids.map(processCpuSeconds);
      const result = await load(product);
      const cpuEach = apiPids.map((pid, i) => processCpuSeconds(pid) - (cpuBefore[i] ?? 0));
      const cpu = cpuEach.reduce((sum, seconds) => sum + seconds, 0);
      const peak = Math.max(...apiPids.map(peakRssMb));
      const s = result.latencies.summary();
      rows.push([`${processes} API process(es)`, result.completed, result.errors, result.rps, s.p50, s.p99, cpu, peak]);
      for (const sample of result.errorSamples) console.log(`  error: ${sample}`);
      results.set(processes, result);
      const name = `api_processes_${processes}_voice_webhook_${options.connections}`;
      figure(
        `${name}_rps`,
        result.rps,
        "req/s",
        processes > 1 ? `api_processes_1_voice_webhook_${options.connections}_rps` : undefined,
      );
      latencyFigures(name, s, ["p50", "p99"]);
      figure(`${name}_errors`, result.errors, "count");
      figure(`api_processes_${processes}_peak_rss_per_process`, peak, "MB");
      // Workers accept connections themselves (SCHED_NONE): how evenly the kernel spread them (0.5: evenly).
      if (processes > 1) figure("api_processes_2_busiest_worker_cpu_share", Math.max(...cpuEach) / cpu, "ratio");
    } finally {
      await product.stop();
    }
  }
  console.log(`\n--- POST ${VOICE_WEBHOOK_PATH}, ${options.connections} connections, ${availableParallelism()} CPUs`);
  printTable(["setup", "requests", "errors", "req/s", "p50 ms", "p99 ms", "API CPU s", "peak RSS MB/process"], rows);
  const one = results.get(1)?.rps ?? Number.NaN;
  const two = results.get(2)?.rps ?? Number.NaN;
  figure("api_processes_2_vs_1", two / one, "ratio");
} finally {
  receiver.closeAllConnections();
  receiver.close();
}
