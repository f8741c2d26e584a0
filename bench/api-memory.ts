// Benchmark: the memory of one idle API process in server mode (DATABASE_URL), in two setups:
// `server` (the cloud services' local stand-ins still run in the process: Twilio and Stripe
// sandboxes, the local executor) and `cloud` (every service's keys set, as in production: no
// stand-in), each run as production runs it (the API's build, `node apps/api/dist/main.mjs`)
// and from its TypeScript source under tsx, as `npm start` runs it (figures `…_tsx_…`).
// Figures: resident memory once settled, the peak since start (start-up included), and the
// V8 heap and external memory the process reports on GET /metrics: what is not heap is Node
// itself, compiled code, the tsx loader's thread and native allocations. The loads' peaks are
// in voice-webhook and api-calls-list (the build).
import { generateKeyPairSync } from "node:crypto";
import type { ApiRun } from "@callflow/api/build";
import { figure, flags, peakRssMb, printMachine, printTable, rssMb, sleep } from "./measure.ts";
import { benchDatabaseUrl } from "./postgres-server.ts";
import { startProductProcess } from "./product-process.ts";

const options = flags(
  "api-memory: one idle server-mode API process's RSS and heap, with the local stand-ins and without",
  { settle: 10, samples: 5, setups: "server,cloud", runs: "build,source" },
  { settle: 5, samples: 3 },
);

/** Every cloud service's settings (none is reached while idle): no stand-in is started. */
function cloudEnvironment(): Record<string, string> {
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    TWILIO_ACCOUNT_SID: `AC${"0".repeat(32)}`,
    TWILIO_AUTH_TOKEN: "bench-twilio-auth-token",
    STRIPE_SECRET_KEY: "sk_test_bench",
    STRIPE_WEBHOOK_SECRET: "whsec_bench",
    INNGEST_EVENT_KEY: "bench-event-key",
    INNGEST_SIGNING_KEY: `signkey-prod-${"0".repeat(64)}`,
    CLERK_JWT_KEY: publicKey.export({ type: "spki", format: "pem" }).toString(),
    CLERK_ISSUER: "https://clerk.bench.example",
  };
}

/** The process's own view of its memory: prom-client's default series on GET /metrics (loopback may scrape). */
async function reportedMemory(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN) / 2 ** 20;
  return {
    heapTotal: value("nodejs_heap_size_total_bytes"),
    heapUsed: value("nodejs_heap_size_used_bytes"),
    external: value("nodejs_external_memory_bytes"),
  };
}

printMachine("api-memory");
const rows: Array<Array<string | number>> = [];
for (const setup of options.setups.split(",")) {
  if (setup !== "server" && setup !== "cloud") throw new Error(`--setups: server or cloud, got ${setup}`);
  for (const run of options.runs.split(",")) {
    if (run !== "build" && run !== "source") throw new Error(`--runs: build or source, got ${run}`);
    rows.push(await measureIdle(setup, run));
  }
}

async function measureIdle(setup: "server" | "cloud", run: ApiRun): Promise<Array<string | number>> {
  const databaseUrl = await benchDatabaseUrl(`callflow_bench_memory_${setup}`, true);
  const product = await startProductProcess(
    { DATABASE_URL: databaseUrl, ...(setup === "cloud" ? cloudEnvironment() : {}) },
    run,
  );
  try {
    // Settled: start-up's garbage collected, timers (relay, sweep) running as they do when idle.
    await sleep(options.settle * 1000);
    const samples: number[] = [];
    for (let i = 0; i < options.samples; i++) {
      samples.push(rssMb(product.pid));
      await sleep(1000);
    }
    const rss = Math.max(...samples);
    const startupPeak = peakRssMb(product.pid);
    const heap = await reportedMemory(product.url);
    const outsideHeap = rss - (heap.heapTotal ?? 0);
    const name = run === "build" ? `api_memory_${setup}` : `api_memory_${setup}_tsx`;
    figure(`${name}_idle_rss`, rss, "MB");
    figure(`${name}_startup_peak_rss`, startupPeak, "MB");
    figure(`${name}_heap_total`, heap.heapTotal ?? 0, "MB");
    figure(`${name}_heap_used`, heap.heapUsed ?? 0, "MB");
    figure(`${name}_external`, heap.external ?? 0, "MB");
    figure(`${name}_outside_heap`, outsideHeap, "MB");
    return [setup, run, rss, startupPeak, heap.heapTotal ?? 0, heap.heapUsed ?? 0, heap.external ?? 0, outsideHeap];
  } finally {
    await product.stop();
  }
}
printTable(
  ["setup", "run", "idle RSS MB", "start-up peak MB", "heap total", "heap used", "external", "RSS outside heap"],
  rows,
);
