// API_PROCESSES > 1: the API as node:cluster workers sharing PORT (and WEB_PORT), stateless
// (rate limits and everything else that must be shared are in Postgres), beside a primary
// that runs what there must be one of (start-callflow.ts startSharedParts: migrations first,
// the local stand-ins, the overdue-call sweep). A worker that dies is replaced; SIGINT and
// SIGTERM stop the workers, then the primary's parts.
import cluster, { type Worker } from "node:cluster";
import type { CallflowConfig } from "./config.ts";
import type { Log } from "./log.ts";
import { gatherWorkerMetrics, workerMetrics } from "./observability/cluster-metrics.ts";
import { type RunningSharedParts, type SharedParts, startCallflow, startSharedParts } from "./start-callflow.ts";

/** Primary → worker: what to start with; then, once, that the functions are synced. */
type ToWorker =
  | { kind: "start"; config: CallflowConfig; shared: Omit<SharedParts, "synced">; synced: boolean }
  | { kind: "synced" };
/** Worker → primary: listening for the start message (one sent earlier would be lost), serving, or why it could not start. */
type ToPrimary = { kind: "listening" } | { kind: "ready" } | { kind: "failed"; reason: string };

/** How long SIGINT / SIGTERM may take before the process exits anyway. */
export const FORCED_EXIT_MS = 30_000;

/** A part that never stops must not keep the process (and whoever waits for it) forever. */
export function exitAnywayAfter(ms: number, log: Log): void {
  setTimeout(() => {
    log.error(`could not stop within ${ms / 1000} s; exiting anyway`);
    process.exit(1);
  }, ms).unref();
}

/** The primary: starts the shared parts, then `config.apiProcesses` workers, and keeps that many running. */
export async function runClusterPrimary(
  config: CallflowConfig,
  announce: (parts: RunningSharedParts) => void,
): Promise<void> {
  const parts = await startSharedParts(config);
  const { log } = parts;
  const workerConfig: CallflowConfig = { ...config, port: parts.apiPort, webPort: parts.webPort };
  let synced = false;
  let stopping = false;
  const ready = new Set<Worker>();
  gatherWorkerMetrics();

  const fork = () => {
    const worker = cluster.fork();
    worker.on("message", (message: ToPrimary) => {
      if (message.kind === "listening") {
        const start: ToWorker = { kind: "start", config: workerConfig, shared: parts.shared, synced };
        worker.send(start);
      }
      if (message.kind === "failed") log.error("an API worker could not start", { reason: message.reason });
      if (message.kind !== "ready") return;
      const first = ready.size === 0 && !synced;
      ready.add(worker);
      if (first) void syncOnce();
    });
    worker.once("exit", (code, signal) => {
      const wasReady = ready.delete(worker);
      if (stopping) return;
      // One that never got going would fail the same way again: stop rather than loop.
      if (!wasReady) {
        log.error("an API worker exited while starting; stopping", { code, signal });
        void shutdown("a worker failed to start", 1);
        return;
      }
      log.warn("an API worker died; starting another", { pid: worker.process.pid, code, signal });
      fork();
    });
  };

  const syncOnce = async () => {
    try {
      await parts.sync();
      synced = true;
      const message: ToWorker = { kind: "synced" };
      for (const worker of Object.values(cluster.workers ?? {})) worker?.send(message);
      announce(parts);
    } catch (error) {
      log.error("could not sync the functions with the local executor", { error: (error as Error).message });
      await shutdown("sync failed", 1);
    }
  };

  async function shutdown(reason: string, exitCode: number) {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { reason });
    exitAnywayAfter(FORCED_EXIT_MS, log);
    const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => !!worker);
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.isDead()) return resolve();
            worker.once("exit", () => resolve());
            worker.process.kill("SIGTERM");
          }),
      ),
    );
    await parts.stop();
    log.info("stopped");
    process.exit(exitCode);
  }

  process.on("SIGINT", () => void shutdown("SIGINT", 0));
  process.on("SIGTERM", () => void shutdown("SIGTERM", 0));
  // Workers accept from the shared socket themselves. With node's default round robin the
  // primary accepts and hands each connection over: one handed to a worker as it dies is
  // never answered nor closed, and its client (Twilio, the executor) waits out its timeout.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  log.info("starting API workers", { processes: config.apiProcesses, port: parts.apiPort });
  for (let i = 0; i < config.apiProcesses; i++) fork();
}

/** A worker: waits for the primary's configuration, serves the API, stops on a signal or when the primary is gone. */
export function runClusterWorker(): void {
  let resolveSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => {
    resolveSynced = resolve;
  });
  let stop: (() => Promise<void>) | null = null;
  let log: Log | null = null;
  let stopping = false;
  const metrics = workerMetrics();

  const shutdown = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    log?.info("API worker shutting down", { reason });
    setTimeout(() => process.exit(1), FORCED_EXIT_MS).unref();
    await stop?.();
    process.exit(0);
  };

  process.on("message", (message: ToWorker) => {
    if (message.kind === "synced") return resolveSynced();
    if (message.kind !== "start" || stop) return;
    if (message.synced) resolveSynced();
    startCallflow(message.config, { shared: { ...message.shared, synced }, workerMetrics: metrics }).then(
      (callflow) => {
        stop = callflow.stop;
        log = callflow.log;
        if (stopping) return void callflow.stop().then(() => process.exit(0));
        const ready: ToPrimary = { kind: "ready" };
        process.send?.(ready);
      },
      (error: Error) => {
        const failed: ToPrimary = { kind: "failed", reason: error.message };
        process.send?.(failed, undefined, undefined, () => process.exit(1));
      },
    );
  });
  const listening: ToPrimary = { kind: "listening" };
  process.send?.(listening);
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  // The primary is gone (killed): nothing would replace or stop this worker.
  process.on("disconnect", () => void shutdown("the primary process is gone"));
}
