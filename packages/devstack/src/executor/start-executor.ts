// Local mode's stand-in for Inngest: an HTTP server speaking the part of Inngest's protocol
// (inngest/inngest docs/SDK_SPEC.md) that the SDK v4 uses, to the app's real /api/inngest,
// with its state in Postgres (schema `devstack`). This file composes the parts:
//
//   http-api.ts        the routes (events, syncs, checkpoints, runs), keys checked
//   intake.ts          receiving events: store, resume waits, create runs (limits, idempotency)
//   scheduler.ts       what to drive now, within capacity, and when to look again
//   cron-ticker.ts     cron triggers: one run a tick (cron.ts reads the schedules)
//   run-driver.ts      driving one run over the SDK protocol: app-call.ts (sdk-request.ts),
//                      app-response.ts (what an answer means), run-writer.ts (applying it)
//   checkpoint.ts      the checkpoint API the SDK posts step results to during a call
//   function-registry.ts / function-config.ts   synced functions and what they mean
//   store/             the schema and its queries
//
// One executor process drives a database's runs; several apps (API processes) may sync
// with it and send to it, as they would share Inngest. Runs go to the app's latest sync.
import type { AddressInfo } from "node:net";
import type { Database } from "@callflow/db";
import { createAdaptorServer } from "@hono/node-server";
import { z } from "zod";
import { createAppCaller, type Dispatches } from "./app-call.ts";
import { inngestBackoff } from "./backoff.ts";
import { createCheckpoints } from "./checkpoint.ts";
import { startCronTicker } from "./cron-ticker.ts";
import { openFunctionRegistry } from "./function-registry.ts";
import { createHttpApi } from "./http-api.ts";
import { createIntake } from "./intake.ts";
import { type ExecutorLog, withRunTraceIds } from "./log.ts";
import { createRunDriver } from "./run-driver.ts";
import type { EventPayload, RunStatus } from "./run-state.ts";
import type { RunWriter } from "./run-writer.ts";
import { createScheduler } from "./scheduler.ts";
import { createSigner, SIGNING_KEY_PATTERN } from "./signing.ts";
import { countPending, listRuns, type RunListRow, runExists } from "./store/runs-store.ts";
import { ensureSchema, pruneExpired } from "./store/schema.ts";

export interface DevExecutorOptions {
  /** Run state goes into its own schema (`devstack`) of this database, created at start. */
  database: Database;
  /** `signkey-<env>-<hex>`: calls to the app are signed with it, and syncs, checkpoints and reads must carry its bearer. */
  signingKey: string;
  /** `POST /e/<key>` with another key is refused. */
  eventKey: string;
  /** 0 (the default): any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Multiplies Inngest's retry schedule (15 s, 30 s, 1 m, …): 0.001 runs it in milliseconds. Default 1. */
  backoffScale?: number;
  /** Runs driven at once. Default 16. */
  maxConcurrency?: number;
  /** One call to the app; a call that takes longer is retried. Default 5 minutes. */
  requestTimeoutMs?: number;
  /** One structured line per event worth knowing, each with its level (calls are "debug"). */
  log?: ExecutorLog;
  /** The clock cron schedules are read by (tests move it); default Date.now. */
  cronClock?: () => number;
  /** Longest wait between looks for due cron ticks and newly synced schedules. Default 30 s. */
  cronCheckMs?: number;
}

const optionsSchema = z.object({
  signingKey: z.string().regex(SIGNING_KEY_PATTERN, "signingKey must look like signkey-<env>-<hex>"),
  eventKey: z.string().min(1, "eventKey is required"),
  port: z.number().int().min(0).max(65535).default(0),
  host: z.string().min(1).default("127.0.0.1"),
  backoffScale: z.number().positive().default(1),
  maxConcurrency: z.number().int().min(1).default(16),
  requestTimeoutMs: z
    .number()
    .int()
    .min(1)
    .default(5 * 60_000),
  cronCheckMs: z.number().int().min(1).default(30_000),
});

export interface RunSummary {
  runId: string;
  functionId: string;
  /** pending: has a request to make (now, or after a retry delay or a throttle). */
  status: RunStatus;
  event: EventPayload;
  attempt: number;
  /** Memoised steps. */
  steps: number;
  output: unknown;
  error: unknown;
  createdAt: Date;
  /** When the run was allowed to start (later than createdAt when throttled). */
  startAt: Date;
  endedAt: Date | null;
  /** When the run next needs the executor (its next request, timer or wait timeout); null when ended. */
  nextAt: Date | null;
  /** The event a waiting run waits for. */
  waitingFor: string | null;
}

export interface DevExecutor {
  /** The base URL for the SDK: `INNGEST_BASE_URL` / the client's `baseUrl`. */
  url: string;
  runs(): Promise<RunSummary[]>;
  /** Resolves once no run is being driven or has a request to make; sleeping and waiting runs do not count. */
  whenIdle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startDevExecutor(options: DevExecutorOptions): Promise<DevExecutor> {
  const settings = optionsSchema.parse(options);
  const db = options.database.owner;
  const log: ExecutorLog = withRunTraceIds((line) => options.log?.({ ...line, service: "dev-executor" }));
  const signer = createSigner(settings.signingKey);

  await ensureSchema(db);
  await pruneExpired(db, Date.now());
  const functions = await openFunctionRegistry(db, log);
  const dispatches: Dispatches = new Map();
  let scheduler: ReturnType<typeof createScheduler> | undefined;
  const intake = createIntake({ db, functions, log, onReady: (ingested) => scheduler?.offer(ingested) });
  const caller = createAppCaller({ signer, dispatches, requestTimeoutMs: settings.requestTimeoutMs, log });
  const writer: RunWriter = {
    db,
    intake,
    backoff: inngestBackoff(settings.backoffScale),
    log,
    retriesOf: (run) => functions.get(run.functionId)?.retries ?? 0,
  };
  const driver = createRunDriver({ writer, caller, functions, log });
  scheduler = createScheduler({ db, functions, driver, maxConcurrency: settings.maxConcurrency, log });
  const summaries = async (limit = 10_000) => (await listRuns(db, limit)).map(summary);
  const app = createHttpApi({
    eventKey: settings.eventKey,
    signer,
    intake,
    functions,
    checkpointAsync: createCheckpoints({
      db,
      dispatches,
      runExists: (runId) => runExists(db, runId),
      log,
    }),
    runs: summaries,
    log,
  });

  const server = createAdaptorServer({ fetch: app.fetch });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(settings.port, settings.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${address.port}`;
  log({ level: "info", msg: "listening", url, functions: functions.ids() });
  // Unfinished runs continue: due timers fire, waits keep waiting, interrupted calls are made again.
  scheduler.scan();
  const cron = await startCronTicker({
    db,
    functions,
    intake,
    log,
    maxWaitMs: settings.cronCheckMs,
    ...(options.cronClock ? { now: options.cronClock } : {}),
  });

  let stopped = false;
  return {
    url,
    runs: () => summaries(),
    async whenIdle() {
      while (!stopped) {
        if (scheduler.quiet() && (await countPending(db)) === 0 && scheduler.quiet()) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      caller.abort();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await cron.stop();
      await scheduler.stop();
      log({ level: "info", msg: "stopped" });
    },
  };
}

function summary(row: RunListRow): RunSummary {
  const ended = row.status === "completed" || row.status === "failed";
  return {
    runId: row.run_id,
    functionId: row.function_id,
    status: row.status,
    event: row.event,
    attempt: row.attempt,
    steps: Number(row.step_count),
    output: row.output ?? null,
    error: row.error ?? null,
    createdAt: new Date(row.created_at),
    startAt: new Date(row.start_at),
    endedAt: row.ended_at ? new Date(row.ended_at) : null,
    nextAt: ended ? null : new Date(row.next_at),
    waitingFor: row.status === "waiting" ? row.wait_event : null,
  };
}
