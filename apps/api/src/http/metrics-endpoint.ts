// GET /metrics for Prometheus, and the middleware that counts requests for it. Who may scrape:
// with METRICS_TOKEN set, whoever sends it as a bearer (compared in constant time), from
// anywhere; unset, only this machine (a loopback TCP peer, not forwarded by a proxy), so a
// fresh install publishes nothing about its traffic to its network.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Database } from "@callflow/db";
import type { Context, Handler, MiddlewareHandler } from "hono";
import type { Log } from "../log.ts";
import type { WorkerMetrics } from "../observability/cluster-metrics.ts";
import { createMetrics } from "../observability/metrics.ts";
import { appRouter } from "../trpc/root.ts";
import { clientAddress, fromThisMachine } from "./client-address.ts";

export interface MetricsEndpointOptions {
  database: Database;
  log: Log;
  /** METRICS_TOKEN: scrapers send `Authorization: Bearer <token>`; unset: loopback peers only. */
  token?: string;
  /** How long a database read serves scrapes; default 5 s. */
  deliveryCacheMs?: number;
  /** In a cluster worker: every worker's HTTP and process series (cluster-metrics.ts). */
  workers?: WorkerMetrics;
}

export interface MetricsEndpoint {
  /** Counts and times every request by route: the app's first middleware. */
  countRequests: MiddlewareHandler;
  /** GET /metrics. */
  handler: Handler;
}

const TRPC_PROCEDURES: ReadonlySet<string> = new Set(Object.keys(appRouter._def.procedures));

export function metricsEndpoint(options: MetricsEndpointOptions): MetricsEndpoint {
  const metrics = createMetrics({
    database: options.database,
    log: options.log,
    trpcProcedures: TRPC_PROCEDURES,
    ...(options.deliveryCacheMs !== undefined ? { deliveryCacheMs: options.deliveryCacheMs } : {}),
    ...(options.workers ? { workers: options.workers } : {}),
  });
  const expected = options.token ? digest(options.token) : null;
  return {
    countRequests: metrics.httpMiddleware,
    handler: async (c) => {
      const refused = expected ? refuseWithoutToken(c, expected) : refuseOtherMachines(c);
      if (refused) return refused;
      try {
        const { contentType, body } = await metrics.exposition();
        return c.body(body, 200, { "content-type": contentType, "cache-control": "no-store" });
      } catch (error) {
        // A scrape that fails says so (Prometheus marks it down) rather than counting one worker.
        options.log.warn("could not gather the API workers' metrics", { error: (error as Error).message });
        return c.json({ error: "could not gather the API workers' metrics; try again" }, 503);
      }
    },
  };
}

function refuseWithoutToken(c: Context, expected: Buffer): Response | null {
  const header = c.req.header("authorization");
  const token = header ? /^Bearer +(\S+) *$/i.exec(header)?.[1] : undefined;
  if (token === undefined) {
    c.header("www-authenticate", 'Bearer realm="metrics"');
    return c.json({ error: "GET /metrics needs Authorization: Bearer <METRICS_TOKEN>" }, 401);
  }
  // Digests of equal length: the comparison takes the same time whatever the token's length.
  if (!timingSafeEqual(digest(token), expected)) return c.json({ error: "that is not the metrics token" }, 403);
  return null;
}

// A reverse proxy on this machine would make every visitor a loopback peer: a request that
// says it was forwarded is not taken for a local one.
const FORWARDING_HEADERS = ["forwarded", "x-forwarded-for", "x-real-ip"];

function refuseOtherMachines(c: Context): Response | null {
  if (FORWARDING_HEADERS.some((name) => c.req.header(name) !== undefined)) {
    return c.json({ error: "GET /metrics came through a proxy; set METRICS_TOKEN to scrape it through one" }, 403);
  }
  if (fromThisMachine(clientAddress(c))) return null;
  return c.json(
    { error: "GET /metrics answers only on this machine; set METRICS_TOKEN to scrape it from elsewhere" },
    403,
  );
}

const digest = (secret: string) => createHash("sha256").update(secret).digest();
