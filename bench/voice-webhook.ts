// Benchmark: Twilio's voice status callbacks ingested by the product in its own process
// (started as `npm start` starts it, on the PostgreSQL server): signature check, the
// durable write, and `call/completed` sent with the real Inngest client (INNGEST_DEV points
// it at a receiver in this process that answers the event API and counts the ids). In-run
// baseline: a bare Hono handler in its own process answering the same `<Response/>`.
// Goals: >= 1,500 req/s and p99 <= 50 ms at 64 connections, no errors.
// `--traced`: the product exports its spans over OTLP/HTTP to the same receiver (as with
// OTEL_EXPORTER_OTLP_ENDPOINT set), figures named voice_webhook_traced_*: tracing's overhead.
// `--logged`: each call already has its log (as the incoming webhook leaves it, ringing), so
// each final status is recorded, then settled by a second statement; figures voice_webhook_logged_*.
// `--status`: message status callbacks instead (POST /webhooks/twilio/messages/status, "delivered"
// for a sent WhatsApp message each, written before the lane starts), figures status_webhook_*.
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { openDatabase } from "@callflow/db";
import { sql } from "kysely";
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
  sleep,
} from "./measure.ts";
import { benchDatabaseUrl } from "./postgres-server.ts";
import { cpuProfilePreload, startProductProcess } from "./product-process.ts";
import {
  callSidOf,
  MESSAGE_STATUS_WEBHOOK_PATH,
  newRunTag,
  type SignedCallback,
  signedMessageStatusCallback,
  signedVoiceCallback,
  VOICE_WEBHOOK_PATH,
} from "./twilio-callbacks.ts";

const options = flags(
  "voice-webhook: POST /webhooks/twilio/voice against the product in its own process",
  {
    connections: 64,
    requests: 20_000,
    duration: 30,
    warmup: 1_000,
    serialRequests: 500,
    pool: 20,
    callers: 5_000,
    // A directory: the product runs with `node --cpu-prof` and writes its profile there on exit.
    cpuProfileDir: "",
    // Dropped and made again by each run: runs sharing a server need names of their own.
    database: "callflow_bench_voice",
    traced: false,
    logged: false,
    status: false,
  },
  { requests: 4_000, duration: 10, warmup: 300, serialRequests: 200 },
);
const DATABASE = options.database;
const ORG = "org_bench_voice";
const BUSINESS_NUMBER = "+15550100001";
const VARIANT = `${options.traced ? "traced_" : ""}${options.logged ? "logged_" : ""}`;
const HOOK = options.status ? "status_webhook" : "voice_webhook";
const HOOK_PATH = options.status ? MESSAGE_STATUS_WEBHOOK_PATH : VOICE_WEBHOOK_PATH;
/** The event each callback causes, by its id. */
const HOOK_EVENT = options.status ? "message/status.updated" : "call/completed";

// ---- setup
printMachine("voice-webhook");
const eventIds = new Set<string>();
let events = 0;
let exportedSpans = 0;
/** OTLP/JSON: the spans of one export request. */
const spansIn = (body: { resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: unknown[] }> }> }) =>
  (body.resourceSpans ?? []).flatMap((r) => r.scopeSpans ?? []).reduce((n, s) => n + (s.spans?.length ?? 0), 0);
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    if (req.url?.startsWith("/v1/traces")) {
      exportedSpans += spansIn(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
      return;
    }
    const sent = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Array<{ id?: string; name: string }>;
    for (const event of [sent].flat()) {
      events++;
      if (event.name === HOOK_EVENT && event.id) eventIds.add(event.id);
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ids: [sent].flat().map((e) => e.id), status: 200 }));
  });
});
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

const databaseUrl = await benchDatabaseUrl(DATABASE, true);
const product = await startProductProcess({
  DATABASE_URL: databaseUrl,
  DATABASE_POOL_SIZE: String(options.pool),
  INNGEST_DEV: receiverUrl,
  LOG_LEVEL: "silent",
  ...(options.cpuProfileDir ? { NODE_OPTIONS: `--require ${cpuProfilePreload(options.cpuProfileDir)}` } : {}),
  ...(options.traced ? { OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl } : {}),
});
const database = await openDatabase({ databaseUrl, poolSize: 1 });
await database.owner.insertInto("organizations").values({ id: ORG, name: "Bench voice" }).execute();
const phoneNumber = await database.owner
  .insertInto("phone_numbers")
  .values({ organization_id: ORG, e164: BUSINESS_NUMBER, label: "main" })
  .returning("id")
  .executeTakeFirstOrThrow();

const bare = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./bare-hono.ts", import.meta.url))], {
  stdio: ["ignore", "pipe", "inherit"],
});
const barePort = await new Promise<string>((resolve) =>
  bare.stdout.on("data", (chunk: Buffer) => {
    const port = /port (\d+)/.exec(chunk.toString())?.[1];
    if (port) resolve(port);
  }),
);
const bareUrl = `http://127.0.0.1:${barePort}`;

const runTag = newRunTag();
let nextIndex = 0;
/** The indexes of the callbacks sent to the product. */
const sentToWebhook: number[] = [];
const callerOf = (i: number) => `+1512${String(2_000_000 + (i % options.callers)).padStart(7, "0")}`;
/** `--status`: the sent message of call `i`, by its sid. */
const messageSidOf = (i: number) => `SM${callSidOf(runTag, i).slice(2)}`;
/** What the webhook's callback `i` causes: its call's call/completed, or its status's event. */
const eventIdOf = (i: number) => (options.status ? `${messageSidOf(i)}:delivered` : callSidOf(runTag, i));

/** `--logged`: the calls' logs as the incoming webhook leaves them, written before the lane starts. */
async function logCalls(sids: string[], callers: string[]): Promise<void> {
  await sql`
    insert into public.call_logs (organization_id, call_sid, phone_number_id, from_number, to_number, status)
    select ${ORG}, sid, ${phoneNumber.id}::uuid, caller, ${BUSINESS_NUMBER}, 'ringing'
      from unnest(${sids}::text[], ${callers}::text[]) as call(sid, caller)`.execute(database.owner);
}

/** `--status`: calls, jobs and WhatsApp messages as deliver-message leaves them, sent and waiting for a receipt. */
async function sentMessages(sids: string[], callers: string[]): Promise<void> {
  await sql`
    with calls as (
      insert into public.call_logs (organization_id, call_sid, phone_number_id, from_number, to_number, status, outcome)
      select ${ORG}, sid, ${phoneNumber.id}::uuid, caller, ${BUSINESS_NUMBER}, 'no-answer', 'missed'
        from unnest(${sids}::text[], ${callers}::text[]) as call(sid, caller)
      returning id, call_sid, from_number),
    jobs as (
      insert into public.message_jobs (organization_id, call_log_id, to_number, decision, reason, status, channels)
      select ${ORG}, id, from_number, 'send', 'missed call', 'sending', array['whatsapp', 'sms']
        from calls
      returning id, call_log_id, to_number)
    insert into public.messages (organization_id, job_id, channel, provider_sid, to_number, from_number, status, sent_at)
    select ${ORG}, jobs.id, 'whatsapp', 'SM' || substr(calls.call_sid, 3), jobs.to_number, ${BUSINESS_NUMBER}, 'sent', now()
      from jobs join calls on calls.id = jobs.call_log_id`.execute(database.owner);
}

/** Signs every callback of a lane before it starts (outside the measured window), then sends them. */
async function lane(url: string, connections: number, requests: number, warmup: number): Promise<LoadResult> {
  const first = nextIndex;
  const callbacks: SignedCallback[] = [];
  for (let i = 0; i < warmup + requests; i++) {
    const index = first + i;
    callbacks.push(
      options.status
        ? signedMessageStatusCallback(product.url, {
            sid: messageSidOf(index),
            status: "delivered",
            from: BUSINESS_NUMBER,
            to: callerOf(index),
          })
        : signedVoiceCallback(product.url, {
            callSid: callSidOf(runTag, index),
            from: callerOf(index),
            to: BUSINESS_NUMBER,
            answered: index % 2 === 1,
          }),
    );
  }
  const logged = options.logged && url === product.url;
  const sids = callbacks.map((_, i) => callSidOf(runTag, first + i));
  const callers = sids.map((_, i) => callerOf(first + i));
  if (logged) await logCalls(sids, callers);
  if (options.status && url === product.url) await sentMessages(sids, callers);
  const client = keepAliveClient(url, connections);
  const result = await runLoad(
    { clients: connections, requests, warmup, seconds: options.duration, firstIndex: first },
    async (_client, index) => {
      const callback = callbacks[index - first] as SignedCallback;
      const answer = await client.request("POST", HOOK_PATH, callback.headers, callback.body);
      if (answer.status !== 200 || !answer.body.includes("<Response"))
        throw new Error(`HTTP ${answer.status}: ${answer.body}`);
    },
  );
  client.close();
  nextIndex = first + result.issued;
  // Logs of calls the lane's time ran out before: no callback came for them.
  if (logged)
    await sql`delete from public.call_logs where call_sid = any(${sids.slice(result.issued)})`.execute(database.owner);
  if (url === product.url) for (let i = first; i < nextIndex; i++) sentToWebhook.push(i);
  return result;
}

// ---- phases
try {
  const phases = [
    { connections: 1, requests: options.serialRequests, warmup: 200 },
    { connections: options.connections, requests: options.requests, warmup: options.warmup },
  ].filter((phase) => phase.requests > 0);
  let errors = 0;
  for (const phase of phases) {
    const bareRun = await lane(bareUrl, phase.connections, phase.requests, phase.warmup);
    const endCpu = cpuWindow({
      api: () => processCpuSeconds(product.pid),
      loadGenerator: ownCpuSeconds,
      postgres: postgresCpu(DATABASE),
    });
    // The product's memory over this load: its RSS before, and its peak (VmHWM, reset first).
    const rssBefore = rssMb(product.pid);
    resetPeakRss(product.pid);
    const hook = await lane(product.url, phase.connections, phase.requests, phase.warmup);
    const peakRss = peakRssMb(product.pid);
    const cpu = endCpu();
    errors += hook.errors + bareRun.errors;

    // ---- report (per phase)
    console.log(`\n--- ${phase.connections} connection(s), ${phase.warmup} warm-up: latencies in ms`);
    const row = (label: string, r: LoadResult) => {
      const s = r.latencies.summary();
      return [label, r.completed, r.errors, r.rps, s.p50, s.p95, s.p99, s.max];
    };
    printTable(
      ["lane", "requests", "errors", "req/s", "p50", "p95", "p99", "max"],
      [row("bare Hono (<Response/>)", bareRun), row(`POST ${HOOK_PATH}`, hook)],
    );
    console.log(`  webhook: ${describeCpu(cpu)} (the load generator and the Inngest receiver are this process)`);
    for (const sample of [...bareRun.errorSamples, ...hook.errorSamples]) console.log(`  error: ${sample}`);
    const name = `${HOOK}_${VARIANT}${phase.connections}`;
    figure(`${name}_rps`, hook.rps, "req/s", `bare_hono_${phase.connections}_rps`);
    figure(`bare_hono_${phase.connections}_rps`, bareRun.rps, "req/s");
    latencyFigures(name, hook.latencies.summary(), ["p50", "p95", "p99"], `bare_hono_${phase.connections}`);
    latencyFigures(`bare_hono_${phase.connections}`, bareRun.latencies.summary(), ["p50", "p95", "p99"]);
    figure(`${name}_api_cpu_per_request`, ((cpu.seconds.api ?? 0) * 1000) / hook.issued, "ms");
    figure(`${name}_postgres_cpu_per_request`, ((cpu.seconds.postgres ?? 0) * 1000) / hook.issued, "ms");
    figure(`${name}_api_peak_rss`, peakRss, "MB", `${name}_api_rss_before`);
    figure(`${name}_api_rss_before`, rssBefore, "MB");
    if (phase.connections > 1) figure(`${HOOK}_${VARIANT}vs_bare_hono`, hook.rps / bareRun.rps, "ratio");
  }

  // ---- report (the run): one row and one event per callback sent
  // Events may be relayed after the answer (an outbox): wait until they stop arriving.
  for (let seen = -1, tries = 0; seen !== events && tries < 40; tries++) {
    seen = events;
    await sleep(500);
  }
  const eventIdsSent = sentToWebhook.map(eventIdOf);
  const everyEvent = eventIdsSent.every((id) => eventIds.has(id)) && eventIds.size === eventIdsSent.length;
  figure(`${HOOK}_errors`, errors, "count");
  if (options.traced) figure(`${HOOK}_traced_spans_exported`, exportedSpans, "count");
  if (options.status) {
    // A message_events row per callback, and each message delivered.
    const sids = sentToWebhook.map(messageSidOf);
    const { rows } = await sql<{ events: number; delivered: number }>`
      select (select count(*)::int from public.message_events where provider_sid = any(${sids})) as events,
             (select count(*)::int from public.messages
               where provider_sid = any(${sids}) and status = 'delivered') as delivered`.execute(database.owner);
    const counts = rows[0] as { events: number; delivered: number };
    console.log(
      `\n${sids.length} callbacks sent to the webhook: ${counts.events} message_events, ${counts.delivered} messages delivered, ` +
        `${events} events received, ${eventIds.size} distinct ${HOOK_EVENT} ids`,
    );
    const each = counts.events === sids.length && counts.delivered === sids.length;
    figure("status_webhook_one_row_per_callback", each ? 1 : 0, "bool");
    figure("status_webhook_one_event_per_callback", everyEvent ? 1 : 0, "bool");
  } else {
    const sids = sentToWebhook.map((i) => callSidOf(runTag, i));
    const { rows } = await sql<{ calls: number; matched: number }>`
      select (select count(*)::int from public.call_logs) as calls,
             (select count(*)::int from public.call_logs where call_sid = any(${sids})) as matched`.execute(
      database.owner,
    );
    const counts = rows[0] as { calls: number; matched: number };
    console.log(
      `\n${sids.length} callbacks sent to the webhook: ${counts.calls} call_logs (${counts.matched} of them found), ` +
        `${events} events received, ${eventIds.size} distinct ${HOOK_EVENT} ids`,
    );
    const oneRow = counts.calls === sids.length && counts.matched === counts.calls;
    figure("voice_webhook_one_row_per_call", oneRow ? 1 : 0, "bool");
    figure("voice_webhook_one_event_per_call", everyEvent ? 1 : 0, "bool");
  }
} finally {
  bare.kill();
  await product.stop();
  await database.close();
  receiver.closeAllConnections();
  receiver.close();
}
