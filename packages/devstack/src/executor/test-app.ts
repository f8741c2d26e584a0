// For the executor's tests: an app serving real Inngest SDK functions over HTTP with
// inngest/hono, and ways to wait on what the executor reports.
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { serve as serveNode } from "@hono/node-server";
import { Hono } from "hono";
import { Inngest, type InngestFunction } from "inngest";
import { serve as serveInngest } from "inngest/hono";
import type { DevExecutor, RunSummary } from "./start-executor.ts";

/** Inngest's retry schedule in milliseconds: 15 ms, 30 ms, 60 ms, … plus up to 30 ms of jitter. */
export const FAST_BACKOFF = 0.001;

export interface TestKeys {
  signingKey: string;
  eventKey: string;
}

export const newKeys = (): TestKeys => ({
  signingKey: `signkey-test-${randomBytes(32).toString("hex")}`,
  eventKey: `event-key-${randomBytes(8).toString("hex")}`,
});

/** An SDK client in cloud mode (it verifies the executor's signatures) sending to the executor. */
export const clientOf = (url: string, id: string, keys: TestKeys) =>
  new Inngest({
    id,
    isDev: false,
    logger: quietLogger,
    signingKey: keys.signingKey,
    eventKey: keys.eventKey,
    baseUrl: url,
  });

// The SDK logs every step error; the assertions say what matters.
export const quietLogger = { info() {}, warn() {}, error() {}, debug() {} };

export interface ServedApp {
  /** The /api/inngest URL. */
  url: string;
  /** Calls the executor made to the app (POSTs), counted. */
  calls(): number;
  stop(): Promise<void>;
}

/** Serves the functions with inngest/hono on a port (0: any free one). */
export async function serveApp(client: Inngest.Any, functions: InngestFunction.Any[], port = 0): Promise<ServedApp> {
  const app = new Hono();
  const handler = serveInngest({ client, functions });
  let calls = 0;
  app.on(["GET", "PUT", "POST"], "/api/inngest", (c) => {
    if (c.req.method === "POST") calls++;
    return handler(c);
  });
  const server = serveNode({ fetch: app.fetch, port, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/inngest`;
  return {
    url,
    calls: () => calls,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

/** The app's sync, as a deploy triggers it: `PUT /api/inngest`. */
export const syncApp = (url: string) => fetch(url, { method: "PUT" });

export async function eventually<T>(
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const runsOf = async (executor: DevExecutor, functionId: string) =>
  (await executor.runs()).filter((run) => run.functionId === functionId);

/** Resolves with the function's ended runs once there are `count` of them. */
export const endedRuns = (executor: DevExecutor, functionId: string, count = 1, timeoutMs?: number) =>
  eventually(async () => {
    const runs = await runsOf(executor, functionId);
    const ended = runs.filter((run) => run.status === "completed" || run.status === "failed");
    return ended.length >= count ? (ended as [RunSummary, ...RunSummary[]]) : null;
  }, timeoutMs);
