// The metrics GET /metrics exposes, in Prometheus's text format: this process's HTTP traffic
// (http-metrics.ts) and the Node process (prom-client's defaults: CPU, memory, event-loop lag,
// GC), summed over the machine's workers when it runs several (cluster-metrics.ts), and the
// delivery pipeline as the database records it (delivery-metrics.ts), the same from any
// process. Registries per app, so apps built side by side in one process (tests) count apart.
import type { Database } from "@callflow/db";
import type { MiddlewareHandler } from "hono";
import { collectDefaultMetrics, Registry } from "prom-client";
import type { Log } from "../log.ts";
import type { WorkerMetrics } from "./cluster-metrics.ts";
import { createDeliveryMetrics } from "./delivery-metrics.ts";
import { createHttpMetrics } from "./http-metrics.ts";

export interface MetricsOptions {
  database: Database;
  /** The tRPC procedures by path: each is a route of its own in the HTTP metrics. */
  trpcProcedures: ReadonlySet<string>;
  log?: Log;
  /** How long a database read serves scrapes; default 5 s. */
  deliveryCacheMs?: number;
  /** In a cluster worker: the HTTP and process series of every worker, not this one's alone. */
  workers?: WorkerMetrics;
}

export interface CallflowMetrics {
  /** Counts and times every request by its route; put it before every other middleware. */
  httpMiddleware: MiddlewareHandler;
  /** The whole exposition, with the database's part refreshed when its cache expired. */
  exposition(): Promise<{ contentType: string; body: string }>;
}

export function createMetrics(options: MetricsOptions): CallflowMetrics {
  const processRegistry = new Registry();
  collectDefaultMetrics({ register: processRegistry });
  const httpMiddleware = createHttpMetrics({ registry: processRegistry, trpcProcedures: options.trpcProcedures });
  options.workers?.share(processRegistry);
  const deliveryRegistry = new Registry();
  const delivery = createDeliveryMetrics({
    registry: deliveryRegistry,
    database: options.database,
    ...(options.deliveryCacheMs !== undefined ? { cacheMs: options.deliveryCacheMs } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  return {
    httpMiddleware,
    async exposition() {
      const [processes] = await Promise.all([
        options.workers ? options.workers.gather() : processRegistry.metrics(),
        delivery.refresh(),
      ]);
      return {
        contentType: processRegistry.contentType,
        body: `${processes.trimEnd()}\n${await deliveryRegistry.metrics()}`,
      };
    },
  };
}
