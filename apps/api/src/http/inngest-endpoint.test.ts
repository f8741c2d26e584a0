// /api/inngest with a signing key (Inngest Cloud's mode): requests that are not signed
// with it never reach a function.
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { insertTwoOrgFixture, migratedDatabase, ORG_A, type ScratchDatabase } from "@callflow/db/testing";
import { createFunctions, createInngestClient } from "@callflow/inngest";
import { createTwilioMessaging } from "@callflow/providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLog } from "../log.ts";
import { createApp } from "./app.ts";

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
        functions: createFunctions(client, { database: scratch.database, messaging, publicUrl: "http://localhost" }),
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

  it("runs a correctly signed request (here: a call that does not exist, not retried)", async () => {
    const response = await run(body, sign(body));
    expect(response.status).toBe(206);
    expect(response.headers.get("x-inngest-no-retry")).toBe("true");
    const [op] = (await response.json()) as Array<{ op: string; name: string; error: { name: string } }>;
    expect(op).toMatchObject({ op: "StepFailed", name: "decide", error: { name: "NonRetriableError" } });
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
          functions: createFunctions(client, { database: scratch.database, messaging, publicUrl: "http://localhost" }),
        },
      });
      const jobId = ids[ORG_A]?.job ?? "";
      const failed = {
        name: "inngest/function.failed",
        data: {
          function_id: "callflow-deliver-message",
          run_id: "01J0000000000000000000001",
          error: { name: "Error", message: "Twilio answered 503 five times" },
          event: { name: "message/job.created", data: { jobId, organizationId: ORG_A }, id: jobId, ts: Date.now() },
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
