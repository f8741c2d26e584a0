// Requests and their latency by route, for GET /metrics. Labels come from the route table,
// never from the request: the matched route's pattern (/webhooks/twilio/messages/status/:token,
// not the token), a tRPC procedure only when the router has it, a method from a fixed list
// and the status class. However hostile the traffic, the series stay as few as the routes.
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { Counter, Histogram, type Registry } from "prom-client";

const LABELS = ["route", "method", "status_class"] as const;
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
// From a fast health check to a webhook waiting on a slow database.
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What a request with no route of its own (a 404, a CORS preflight elsewhere) is counted as. */
export const UNMATCHED_ROUTE = "unmatched";
/** A tRPC batch: several procedures in one request, counted as one route. */
export const TRPC_BATCH_ROUTE = "/trpc/(batch)";
const TRPC_PREFIX = "/trpc/";

export interface HttpMetricsOptions {
  registry: Registry;
  /** The tRPC procedures by path (calls.list, …): each is its own route; anything else is /trpc/*. */
  trpcProcedures: ReadonlySet<string>;
}

export function createHttpMetrics(options: HttpMetricsOptions): MiddlewareHandler {
  const requests = new Counter({
    name: "callflow_http_requests_total",
    help: "HTTP requests answered, by matched route pattern, method and status class (2xx, 4xx, 5xx…)",
    labelNames: LABELS,
    registers: [options.registry],
  });
  const duration = new Histogram({
    name: "callflow_http_request_duration_seconds",
    help: "Time from a request's arrival to its response, by matched route pattern, method and status class",
    labelNames: LABELS,
    buckets: LATENCY_BUCKETS,
    registers: [options.registry],
  });
  return async (c, next) => {
    const started = performance.now();
    await next();
    const labels = {
      route: routeOf(c, options.trpcProcedures),
      method: METHODS.has(c.req.method) ? c.req.method : "OTHER",
      status_class: `${Math.floor(c.res.status / 100)}xx`,
    };
    requests.inc(labels);
    duration.observe(labels, (performance.now() - started) / 1000);
  };
}

/**
 * The pattern of the last route that matched (the handler that answers, registered after the
 * middlewares of its path); a path that matched only catch-all middlewares is unmatched.
 */
export function routeOf(c: Context, trpcProcedures: ReadonlySet<string>): string {
  const pattern = matchedRoutes(c).at(-1)?.path ?? "*";
  if (pattern === "*" || pattern === "/*") return UNMATCHED_ROUTE;
  if (pattern !== `${TRPC_PREFIX}*`) return pattern;
  const procedure = c.req.path.slice(TRPC_PREFIX.length);
  if (procedure.includes(",")) return TRPC_BATCH_ROUTE;
  return trpcProcedures.has(procedure) ? `${TRPC_PREFIX}${procedure}` : pattern;
}
