// The delivery pipeline's gauges, set from a database snapshot (delivery-snapshot.ts) that is
// read at most once per `cacheMs`: many scrapers (Prometheus in HA pairs, a curl) share one
// read, and scrapes that arrive while a read is running wait for it rather than start another.
import type { Database } from "@callflow/db";
import { Gauge, type Registry } from "prom-client";
import type { Log } from "../log.ts";
import {
  type DeliverySnapshot,
  FIRST_SEND_QUANTILES,
  type PerWindow,
  readDeliverySnapshot,
  WINDOWS,
} from "./delivery-snapshot.ts";

export const DEFAULT_DELIVERY_CACHE_MS = 5_000;
/** Error codes listed one by one per channel; rarer ones are summed as code="other". */
export const MAX_ERROR_CODES_PER_CHANNEL = 20;
// The series a dashboard expects even when nothing happened: zeros rather than gaps.
const EXPECTED_OUTCOMES = [
  { status: "delivered", channel: "whatsapp" },
  { status: "delivered", channel: "sms" },
  { status: "failed", channel: "none" },
  { status: "skipped", channel: "none" },
];

export interface DeliveryMetricsOptions {
  registry: Registry;
  database: Database;
  cacheMs?: number;
  log?: Log;
  /** Milliseconds, for the cache's age; tests move it. */
  clock?: () => number;
  /** The read itself; tests may count calls. */
  read?: (database: Database) => Promise<DeliverySnapshot>;
}

export interface DeliveryMetrics {
  /** Sets the gauges from the cached snapshot, reading the database when it is older than cacheMs. */
  refresh(): Promise<void>;
}

export function createDeliveryMetrics(options: DeliveryMetricsOptions): DeliveryMetrics {
  const gauges = deliveryGauges(options.registry);
  const cacheMs = options.cacheMs ?? DEFAULT_DELIVERY_CACHE_MS;
  const clock = options.clock ?? Date.now;
  const read = options.read ?? readDeliverySnapshot;
  let cached: { at: number; reading: Promise<void> } | null = null;

  const readAndSet = async () => {
    const started = performance.now();
    try {
      const snapshot = await read(options.database);
      setGauges(gauges, snapshot);
      gauges.up.set(1);
    } catch (error) {
      // Stale numbers would mislead: the database's series go, and `up` says why they are missing.
      resetSnapshotGauges(gauges);
      gauges.up.set(0);
      options.log?.warn("delivery metrics could not be read", { error: (error as Error).message });
    } finally {
      gauges.readSeconds.set((performance.now() - started) / 1000);
    }
  };

  return {
    refresh() {
      const now = clock();
      if (!cached || now - cached.at >= cacheMs) cached = { at: now, reading: readAndSet() };
      return cached.reading;
    },
  };
}

type Gauges = ReturnType<typeof deliveryGauges>;

function deliveryGauges(registry: Registry) {
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Gauge<L>({ name, help, labelNames, registers: [registry] });
  return {
    completed: gauge(
      "callflow_message_jobs_completed",
      "Message jobs that reached a final status in the window, by status and the channel that delivered (none: not delivered)",
      ["window", "status", "channel"],
    ),
    smsFallbacks: gauge(
      "callflow_message_jobs_sms_fallback",
      "Message jobs completed in the window that were delivered by SMS after WhatsApp was tried",
      ["window"],
    ),
    fallbackRatio: gauge(
      "callflow_message_jobs_fallback_ratio",
      "Delivered by SMS after WhatsApp, over all delivered, for jobs completed in the window (absent: none delivered)",
      ["window"],
    ),
    quotaSkips: gauge(
      "callflow_message_jobs_quota_skipped",
      "Message jobs skipped in the window because the business's plan quota was used up",
      ["window"],
    ),
    open: gauge("callflow_message_jobs_open", "Message jobs not final yet, whatever their age, by status", ["status"]),
    openOldest: gauge(
      "callflow_message_jobs_open_oldest_age_seconds",
      "Age of the oldest message job not final yet, by status (0: none)",
      ["status"],
    ),
    firstSend: gauge(
      "callflow_call_end_to_first_send_seconds",
      "Quantiles of the time from a call's end to its job's first accepted send, for jobs first sent in the window (deferred jobs aside)",
      ["window", "quantile"],
    ),
    firstSendJobs: gauge(
      "callflow_call_end_to_first_send_jobs",
      "Jobs whose first send was in the window: the sample behind callflow_call_end_to_first_send_seconds",
      ["window"],
    ),
    providerErrors: gauge(
      "callflow_provider_errors",
      `Messages that failed in the window with a provider error code, by channel and code (beyond the ${MAX_ERROR_CODES_PER_CHANNEL} commonest per channel: other)`,
      ["window", "channel", "code"],
    ),
    outboxUnsent: gauge("callflow_outbox_unsent", "Events in the outbox not yet sent to Inngest"),
    outboxOldest: gauge(
      "callflow_outbox_oldest_unsent_age_seconds",
      "Age of the oldest event in the outbox not yet sent to Inngest (0: none)",
    ),
    up: gauge("callflow_delivery_metrics_up", "1 when the last database read for the delivery metrics succeeded"),
    readSeconds: gauge(
      "callflow_delivery_metrics_read_seconds",
      "How long the last database read for the delivery metrics took",
    ),
  };
}

function resetSnapshotGauges(gauges: Gauges) {
  for (const [name, gauge] of Object.entries(gauges)) if (name !== "up" && name !== "readSeconds") gauge.reset();
}

function setGauges(gauges: Gauges, snapshot: DeliverySnapshot) {
  resetSnapshotGauges(gauges);
  for (const window of WINDOWS) {
    for (const expected of EXPECTED_OUTCOMES) gauges.completed.set({ window, ...expected }, 0);
    for (const row of snapshot.completedJobs)
      gauges.completed.set({ window, status: row.status, channel: row.channel }, row.jobs[window]);
    const delivered = snapshot.completedJobs
      .filter((row) => row.status === "delivered")
      .reduce((sum, row) => sum + row.jobs[window], 0);
    gauges.smsFallbacks.set({ window }, snapshot.smsFallbacks[window]);
    if (delivered > 0) gauges.fallbackRatio.set({ window }, snapshot.smsFallbacks[window] / delivered);
    gauges.quotaSkips.set({ window }, snapshot.quotaSkips[window]);

    const firstSend = snapshot.firstSend[window];
    gauges.firstSendJobs.set({ window }, firstSend.jobs);
    FIRST_SEND_QUANTILES.forEach((quantile, index) => {
      const seconds = firstSend.quantiles?.[index];
      if (seconds !== undefined && seconds !== null)
        gauges.firstSend.set({ window, quantile: String(quantile) }, seconds);
    });
    for (const row of errorCodesOf(snapshot.providerErrors, window))
      gauges.providerErrors.set({ window, channel: row.channel, code: row.code }, row.messages);
  }
  for (const row of snapshot.openJobs) {
    gauges.open.set({ status: row.status }, row.jobs);
    gauges.openOldest.set({ status: row.status }, row.oldestAgeSeconds);
  }
  gauges.outboxUnsent.set(snapshot.outbox.unsent);
  gauges.outboxOldest.set(snapshot.outbox.oldestAgeSeconds);
}

/** The commonest codes per channel (rows come commonest first), the rest summed as "other". */
function errorCodesOf(rows: DeliverySnapshot["providerErrors"], window: keyof PerWindow) {
  const listed = new Map<string, number>();
  const out: Array<{ channel: string; code: string; messages: number }> = [];
  const other = new Map<string, number>();
  for (const row of rows) {
    const count = listed.get(row.channel) ?? 0;
    if (count < MAX_ERROR_CODES_PER_CHANNEL) {
      listed.set(row.channel, count + 1);
      out.push({ channel: row.channel, code: String(row.code), messages: row.messages[window] });
    } else {
      other.set(row.channel, (other.get(row.channel) ?? 0) + row.messages[window]);
    }
  }
  for (const [channel, messages] of other) out.push({ channel, code: "other", messages });
  return out;
}
