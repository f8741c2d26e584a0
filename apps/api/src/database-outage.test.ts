// The database unreachable for a while, between CallFlow and its database (a network
// partition, a failover): webhooks answer 503 so that Twilio and Stripe retry, nothing is
// half-written, and once the database is back the retried callback completes the call's
// work exactly once, through the outbox and the executor, which both outlive the outage.
import { mkdtempSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seedOnce, startEmbeddedDatabase } from "@callflow/db";
import { bareDatabase, type LaneName, testLanes } from "@callflow/db/testing";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.ts";
import { startCallflow } from "./start-callflow.ts";
import { DEMO_ORG, deliveryOf, missedCallParams, postVoiceCallback, randomCaller } from "./test-missed-call.ts";

/** The database's URL: a server scratch database, or the embedded one served on a socket. */
async function databaseFor(lane: LaneName): Promise<{ url: string; poolSize: string; dispose(): Promise<void> }> {
  if (lane === "postgres") {
    const scratch = await bareDatabase("postgres");
    return { url: scratch.url as string, poolSize: "4", dispose: () => scratch.dispose() };
  }
  const embedded = await startEmbeddedDatabase({
    dataDir: mkdtempSync(join(tmpdir(), "callflow-outage-")),
    port: 0,
  });
  // PGlite's socket serves one connection at a time.
  return { url: embedded.url as string, poolSize: "1", dispose: () => embedded.stop() };
}

/** A TCP link to the database that the test can cut (refusing and dropping connections) and mend. */
async function openLink(target: URL) {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  const listen = (port: number) =>
    new Promise<Server>((resolve, reject) => {
      const listening = createServer((client) => {
        const upstream = createConnectionTo(target, client);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on("close", () => sockets.delete(socket));
        }
      });
      listening.once("error", reject);
      listening.listen(port, "127.0.0.1", () => resolve(listening));
    });
  server = await listen(0);
  const port = (server.address() as { port: number }).port;
  const url = new URL(target);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  return {
    url: url.toString(),
    async cut() {
      await new Promise<void>((resolve) => {
        server?.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      server = null;
    },
    async mend() {
      server = await listen(port);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
  };
}

function createConnectionTo(target: URL, client: Socket): Socket {
  const upstream = connect(Number(target.port || 5432), target.hostname);
  client.pipe(upstream).pipe(client);
  const end = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", end);
  upstream.on("error", end);
  client.on("close", end);
  upstream.on("close", end);
  return upstream;
}

describe.each(testLanes())("a database outage on %s", (lane) => {
  it("answers webhooks 503 while the database is unreachable, writes nothing, and completes the retried call once it is back", async () => {
    const target = await databaseFor(lane);
    const link = await openLink(new URL(target.url));
    const callflow = await startCallflow({
      ...loadConfig({
        DATA_DIR: mkdtempSync(join(tmpdir(), "callflow-outage-data-")),
        PORT: "0",
        WEB_PORT: "",
        LOG_LEVEL: "silent",
        DB_PORT: "",
        DATABASE_URL: link.url,
        DATABASE_POOL_SIZE: target.poolSize,
      }),
      webPort: null,
    });
    try {
      await callflow.ready;
      await seedOnce(callflow.database);
      // No quiet hours or cooldown: the test passes at any hour.
      await callflow.database.withService((tx) =>
        tx
          .updateTable("organizations")
          .set({ quiet_hours: null, cooldown_seconds: 0 })
          .where("id", "=", DEMO_ORG)
          .execute(),
      );
      const params = missedCallParams(randomCaller());

      await link.cut();
      const refused = await postVoiceCallback(callflow, params);
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("5");
      const body = await refused.text();
      expect(JSON.parse(body)).toMatchObject({ error: "the database is unavailable: try again shortly" });
      const ready = await fetch(`${callflow.apiUrl}/readyz`);
      expect(ready.status).toBe(503);
      // The dashboard's reads say the same, as a typed error.
      const token = callflow.devIssuer?.issue({ orgId: DEMO_ORG, role: "admin" });
      const listed = await fetch(`${callflow.apiUrl}/trpc/calls.list?input=${encodeURIComponent('{"limit":5}')}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(listed.status).toBe(503);
      expect(await listed.json()).toMatchObject({
        error: { message: "the database is unavailable: try again shortly", data: { code: "SERVICE_UNAVAILABLE" } },
      });
      // Still serving while the database is away.
      expect((await fetch(`${callflow.apiUrl}/healthz`)).status).toBe(200);

      await link.mend();
      // Nothing of the refused callback was written.
      const written = await sql<{ calls: number; events: number }>`
        select (select count(*)::int from public.call_logs where call_sid = ${params.CallSid}) as calls,
               (select count(*)::int from app.event_outbox where event_id = ${params.CallSid}) as events`.execute(
        callflow.database.owner,
      );
      expect(written.rows).toEqual([{ calls: 0, events: 0 }]);

      // Twilio's retry: accepted, and the caller gets one message.
      expect((await postVoiceCallback(callflow, params)).status).toBe(200);
      expect(await deliveryOf(callflow, params.CallSid)).toEqual({
        job: { status: "delivered", final_channel: "whatsapp" },
        channels: ["whatsapp"],
      });
    } finally {
      await callflow.stop();
      await link.close();
      await target.dispose();
    }
  }, 180_000);
});
