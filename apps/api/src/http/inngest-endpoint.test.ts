// /api/inngest with a signing key (Inngest Cloud's mode): requests that are not signed
// with it never reach a function.
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { insertTwoOrgFixture, migratedDatabase, ORG_A, type ScratchDatabase } from "@callflow/db/testing";
import { createFunctions, createInngestClient } from "@callflow/inngest";
import { createTwilioMessaging, statusCallbackUrls } from "@callflow/providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLog } from "../log.ts";
import { createApp } from "./app.ts";

const statusCallbacks = statusCallbackUrls({ publicUrl: "http://localhost", authToken: "unused" });
const SIGNING_KEY = `signkey-test-${randomBytes(32).toString("hex")}`;

/** JSON with keys sorted at every level (RFC 8785's order): what the SDK checks the signature over. */
const canonical = (value: unknown): string =>
  Array.isArray(value)
    ? `[${value.map(canonical).join(",")}]`
    : value !== null && typeof value === "object"
      ? `{${Object.keys(value)
          .sort()
          .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
          .join(",")}}`
      : JSON.stringify(value);

/** X-Inngest-Signature as Inngest signs a request: HMAC-SHA256 of the body + timestamp. */
function sign(body: string, key = SIGNING_KEY, at = Math.floor(Date.now() / 1000)) {
  const mac = createHmac("sha256", key.replace(/^signkey-\w+-/, ""))
    .update(body + at)
    .digest("hex");
  return `t=${at}&s=${mac}`;
}

describe("the Inngest endpoint with a signing key", () => {
  let scratch: ScratchDatabase;
  let app: ReturnType<typeof createApp>;
  beforeAll(async () => {
    scratch = await migratedDatabase("pglite");
    const client = createInngestClient({ signingKey: SIGNING_KEY, isDev: false });
    const messaging = createTwilioMessaging({
      accountSid: `AC${"2".repeat(32)}`,
      authToken: "unused",
      baseUrl: "http://127.0.0.1:9",
    });
    app = createApp({
      database: scratch.database,
      verifySession: async () => {
        throw new Error("no sessions here");
      },
      log: createLog("silent"),
      webOrigins: [],
      rateLimitPerMinute: 10,
      maxBodyBytes: 1024,
      maxBatchSize: 1,
      inngest: {
        client,
        functions: createFunctions(client, { database: scratch.database, messaging, statusCallbacks }),
        serveOrigin: "http://localhost",
        signed: true,
        maxBodyBytes: 64 * 1024,
      },
    });
  });
  afterAll(() => scratch?.dispose());

  const run = (body: string, signature?: string) =>
    app.request("/api/inngest?fnId=callflow-call-completed&stepId=step", {
      method: "POST",
      headers: { "content-type": "application/json", ...(signature ? { "x-inngest-signature": signature } : {}) },
      body,
    });
  const body = canonical({
    event: {
      name: "call/completed",
      id: "CA1",
      data: { callSid: "CA1", organizationId: "org_nobody", callLogId: randomUUID() },
      ts: Date.now(),
    },
    events: [],
    steps: {},
    ctx: {
      run_id: "01J0000000000000000000000",
      attempt: 0,
      disable_immediate_execution: false,
      use_api: false,
      stack: { stack: [], current: 0 },
    },
    version: 2,
  });

  it("refuses a run without a signature, or signed with another key", async () => {
    expect((await run(body)).status).toBe(401);
    expect((await run(body, sign(body, `signkey-test-${randomBytes(32).toString("hex")}`))).status).toBe(401);
    // The signature covers the content: another call's event does not pass with it.
    expect((await run(body.replace("org_nobody", "org_somebody"), sign(body))).status).toBe(401);
  });

  it("refuses a malformed or expired signature before reading the body", async () => {
    const old = Math.floor(Date.now() / 1000) - 6 * 60;
    expect(await (await run(body, sign(body, SIGNING_KEY, old))).json()).toEqual({
      error: "X-Inngest-Signature has expired",
    });
    expect((await run(body, "t=1&s=nothex")).status).toBe(401);
    // A body that never ends: answered at once, so it was never read.
    const endless = new ReadableStream({ pull: () => new Promise(() => {}) });
    const response = await Promise.race([
      app.request("/api/inngest?fnId=callflow-call-completed&stepId=step", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: endless,
        duplex: "half",
      } as RequestInit),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 5_000)),
    ]);
    expect(response?.status).toBe(401);
  });

  it("answers 413 over the size limit and 400 for a signed body that is not JSON", async () => {
    const big = JSON.stringify({ padding: "x".repeat(70 * 1024) });
    expect((await run(big, sign(big))).status).toBe(413);
    const response = await run("not json {", sign("not json {"));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: expect.stringContaining("not JSON") });
  });

  it("runs a correctly signed request (here: a call that does not exist, not retried)", async () => {
    const response = await run(body, sign(body));
    expect(response.status).toBe(206);
    expect(response.headers.get("x-inngest-no-retry")).toBe("true");
    const [op] = (await response.json()) as Array<{ op: string; name: string; error: { name: string } }>;
    expect(op).toMatchObject({ op: "StepFailed", name: "decide", error: { name: "NonRetriableError" } });
  });
});

describe("syncing the functions", () => {
  it("registers them at the configured origin whatever Host the PUT names", async () => {
    const registered: Array<{ url: string }> = [];
    const inngestApi = createServer((request, response) => {
      let text = "";
      request.on("data", (chunk) => {
        text += chunk;
      });
      request.on("end", () => {
        if (request.url?.startsWith("/fn/register")) registered.push(JSON.parse(text));
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ ok: true, modified: true }));
      });
    });
    await new Promise<void>((resolve) => inngestApi.listen(0, "127.0.0.1", resolve));
    const scratch = await migratedDatabase("pglite");
    try {
      const baseUrl = `http://127.0.0.1:${(inngestApi.address() as AddressInfo).port}`;
      const client = createInngestClient({ signingKey: SIGNING_KEY, eventKey: "test", baseUrl, isDev: false });
      const messaging = createTwilioMessaging({ accountSid: `AC${"2".repeat(32)}`, authToken: "unused" });
      const app = createApp({
        database: scratch.database,
        verifySession: async () => {
          throw new Error("no sessions here");
        },
        log: createLog("silent"),
        webOrigins: [],
        rateLimitPerMinute: 10,
        maxBodyBytes: 1024,
        maxBatchSize: 1,
        inngest: {
          client,
          functions: createFunctions(client, { database: scratch.database, messaging, statusCallbacks }),
          serveOrigin: "https://api.example",
          signed: true,
        },
      });
      for (const forged of ["http://evil.example/api/inngest", "http://localhost:3000/api/inngest"]) {
        const response = await app.request(forged, { method: "PUT", headers: { host: new URL(forged).host } });
        expect(response.status).toBe(200);
      }
      expect(registered.map((body) => body.url)).toEqual([
        "https://api.example/api/inngest",
        "https://api.example/api/inngest",
      ]);
    } finally {
      inngestApi.close();
      await scratch.dispose();
    }
  });
});

describe("deliver-message's failure handler, through the endpoint", () => {
  it("marks the job failed with the reason once retries are exhausted", async () => {
    const scratch = await migratedDatabase("pglite");
    try {
      const ids = await insertTwoOrgFixture(scratch.database);
      const client = createInngestClient({ isDev: true });
      const messaging = createTwilioMessaging({
        accountSid: `AC${"2".repeat(32)}`,
        authToken: "unused",
        baseUrl: "http://127.0.0.1:9",
      });
      const app = createApp({
        database: scratch.database,
        verifySession: async () => {
          throw new Error("no sessions here");
        },
        log: createLog("silent"),
        webOrigins: [],
        rateLimitPerMinute: 10,
        maxBodyBytes: 1024,
        maxBatchSize: 1,
        inngest: {
          client,
          functions: createFunctions(client, { database: scratch.database, messaging, statusCallbacks }),
          serveOrigin: "http://localhost",
          signed: false,
        },
      });
      const jobId = ids[ORG_A]?.job ?? "";
      const failed = {
        name: "inngest/function.failed",
        data: {
          function_id: "callflow-deliver-message",
          run_id: "01J0000000000000000000001",
          error: { name: "Error", message: "Twilio answered 503 five times" },
          event: {
            name: "message/delivery.requested",
            data: { jobId, organizationId: ORG_A, channel: "whatsapp" },
            id: `${jobId}:whatsapp`,
            ts: Date.now(),
          },
        },
        ts: Date.now(),
      };
      const response = await app.request("/api/inngest?fnId=callflow-deliver-message-failure&stepId=step", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          event: failed,
          events: [failed],
          steps: {},
          ctx: {
            run_id: "01J0000000000000000000002",
            attempt: 0,
            disable_immediate_execution: false,
            use_api: false,
            stack: { stack: [], current: 0 },
          },
          version: 2,
        }),
      });
      expect(response.status).toBe(200);
      const job = await scratch.database.withService((tx) =>
        tx
          .selectFrom("message_jobs")
          .select(["status", "final_reason"])
          .where("id", "=", jobId)
          .executeTakeFirstOrThrow(),
      );
      expect(job).toEqual({ status: "failed", final_reason: "delivery stopped: Twilio answered 503 five times" });
    } finally {
      await scratch.dispose();
    }
  });
});
