// Every path of the voice flow as Twilio runs it: the Twilio sandbox places a call at the
// business number's Voice URL (set through the numbers adapter, as phoneNumbers.add does),
// runs the TwiML the webhooks answer and posts each callback signed, in Twilio's order; then
// call-completed (run by @inngest/test) decides the message from the settled outcome.
import type { AddressInfo } from "node:net";
import { insertTwoOrgFixture, migratedDatabase, ORG_A, type ScratchDatabase, testLanes } from "@callflow/db/testing";
import { isSandboxAccountNumber, type SandboxCall, startTwilioSandbox, type TwilioSandbox } from "@callflow/devstack";
import { createCallCompleted, createInngestClient, type JobDecision } from "@callflow/inngest";
import { createTwilioNumbers } from "@callflow/providers";
import { serve } from "@hono/node-server";
import { InngestTestEngine } from "@inngest/test";
import { Hono } from "hono";
import { sql } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLog } from "../log.ts";
import { NUMBER_A } from "./twilio-test-server.ts";
import { settleOverdueCalls } from "./twilio-voice-overdue.ts";
import { twilioWebhooks } from "./twilio-webhooks.ts";

const ACCOUNT_SID = `AC${"5".repeat(32)}`;
const AUTH_TOKEN = "voice-sandbox-test-token";
const OWNER_PHONE = "+15125550199";

let nextCaller = 0;
const newCaller = () => `+1512556${String(1000 + nextCaller++).padStart(4, "0")}`;

describe.each(testLanes())("calls through the Twilio sandbox on %s", (lane) => {
  let scratch: ScratchDatabase;
  let sandbox: TwilioSandbox;
  let close: () => Promise<void>;
  const inngest = createInngestClient({ isDev: true });

  beforeAll(async () => {
    scratch = await migratedDatabase(lane);
    await insertTwoOrgFixture(scratch.database);
    await scratch.database.withService(async (tx) => {
      // Any hour of the day, every call messaged; a template for voicemail and answered calls too.
      await tx
        .updateTable("organizations")
        .set({ quiet_hours: null, cooldown_seconds: 0 })
        .where("id", "=", ORG_A)
        .execute();
      for (const trigger of ["voicemail", "answered"] as const) {
        await tx
          .insertInto("templates")
          .values({ organization_id: ORG_A, name: trigger, trigger, sms_body: `Thanks (${trigger})` })
          .execute();
      }
    });
    sandbox = await startTwilioSandbox({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      ownsNumber: (e164) => e164 === NUMBER_A || isSandboxAccountNumber(e164),
    });
    let app: Hono | undefined;
    const http = serve({ fetch: (request) => (app as Hono).fetch(request), port: 0, hostname: "127.0.0.1" });
    await new Promise<void>((resolve) => http.once("listening", () => resolve()));
    const publicUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    app = new Hono().route(
      "/webhooks/twilio",
      twilioWebhooks({
        database: scratch.database,
        authToken: AUTH_TOKEN,
        publicUrl,
        log: createLog("silent"),
        outbox: { wake() {} },
      }),
    );
    close = () => new Promise<void>((resolve) => http.close(() => resolve()));
    const numbers = createTwilioNumbers({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      baseUrl: sandbox.url,
      publicUrl,
    });
    const owned = await numbers.findOwned(NUMBER_A);
    if (!owned) throw new Error(`the sandbox owns ${NUMBER_A}`);
    await numbers.connect(owned);
  });
  afterAll(async () => {
    await sandbox?.stop();
    await close?.();
    await scratch?.dispose();
  });
  beforeEach(async () => {
    await settings({ forward_to: OWNER_PHONE, voicemail_enabled: true, trigger_outcomes: ["missed", "voicemail"] });
  });

  const settings = (values: Record<string, unknown>) =>
    scratch.database.withService((tx) => tx.updateTable("organizations").set(values).where("id", "=", ORG_A).execute());
  const callLog = (sid: string) =>
    scratch.database.withService((tx) =>
      tx.selectFrom("call_logs").selectAll().where("call_sid", "=", sid).executeTakeFirstOrThrow(),
    );
  const callEvents = async (sid: string) =>
    (
      await sql<{ data: Record<string, unknown> }>`
        select data from app.event_outbox where name = 'call/completed' and event_id = ${sid}`.execute(
        scratch.database.owner,
      )
    ).rows;

  /** call-completed's decision for the call, from its one call/completed event. */
  async function decisionFor(call: SandboxCall): Promise<JobDecision> {
    const events = await callEvents(call.callSid);
    expect(events).toHaveLength(1);
    const decided = await new InngestTestEngine({
      function: createCallCompleted(inngest, { database: scratch.database }),
    }).execute({
      events: [{ name: "call/completed", id: call.callSid, data: events[0]?.data ?? {} }],
      steps: [{ id: "request-delivery", handler: () => ({ ids: ["x"] }) }],
    });
    return decided.result as JobDecision;
  }

  async function place(scenario: SandboxCall["scenario"]) {
    const call = await sandbox.placeCall({ from: newCaller(), to: NUMBER_A, scenario });
    // The sandbox ran every TwiML answer as Twilio would, and every webhook answered 200.
    expect(call.errors).toEqual([]);
    expect(call.callbacks.map((callback) => callback.responseStatus)).toEqual(call.callbacks.map(() => 200));
    return call;
  }
  /** The safety net's sweep, as if the final status's grace had passed. */
  const graceOver = () => settleOverdueCalls(scratch.database, { graceSeconds: 0 });

  it.each([
    ["answered", "answered", "dial", "skip", /no message after answered calls/],
    // The caller says nothing after the beep: an empty recording ("absent").
    ["no-answer", "missed", "recording", "send", /missed/],
    ["busy", "missed", "status", "send", /missed/],
    ["voicemail", "voicemail", "recording", "send", /voicemail/],
    ["hang-up-before-beep", "missed", "status", "send", /missed/],
  ] as const)(
    "forwarded, %s: %s (settled by the %s callback), the job is a %s",
    async (scenario, outcome, source, decision, reason) => {
      const call = await place(scenario);
      expect(call.dial?.number).toBe(OWNER_PHONE);
      // A caller who hung up at the greeting: the final status waits out its grace for a Record action.
      if (source === "status") {
        expect((await callLog(call.callSid)).outcome).toBeNull();
        expect(await callEvents(call.callSid)).toEqual([]);
      }
      await graceOver();
      expect(await callLog(call.callSid)).toMatchObject({
        outcome,
        outcome_source: source,
        status: "completed",
        voice_flow: "forward",
        forwarded_to: OWNER_PHONE,
        dial_status: call.dial?.status,
      });
      const job = await decisionFor(call);
      expect(job.decision).toBe(decision);
      expect(job.reason).toMatch(reason);
    },
  );

  it("answered, when the business messages answered calls too: a job to send", async () => {
    await settings({ trigger_outcomes: ["missed", "voicemail", "answered"] });
    const call = await place("answered");
    expect((await callLog(call.callSid)).outcome).toBe("answered");
    expect((await decisionFor(call)).decision).toBe("send");
  });

  it("no forwarding number: straight to the greeting; a message left is a voicemail", async () => {
    await settings({ forward_to: null });
    const call = await place("voicemail");
    expect(call.dial).toBeNull();
    expect(call.callbacks.map((callback) => callback.kind)).toEqual([
      "voice-url",
      "record-action",
      "voice-status",
      "recording-status",
    ]);
    expect(await callLog(call.callSid)).toMatchObject({
      outcome: "voicemail",
      voice_flow: "voicemail",
      recording_duration_seconds: 23,
      recording_sid: call.recording?.sid,
    });
    expect((await decisionFor(call)).decision).toBe("send");
  });

  it("no forwarding number, the caller hangs up at the greeting: missed once the grace has passed", async () => {
    await settings({ forward_to: null });
    const call = await place("hang-up-before-beep");
    expect(call.callbacks.map((callback) => callback.kind)).toEqual(["voice-url", "voice-status"]);
    expect((await callLog(call.callSid)).outcome).toBeNull();
    expect(await graceOver()).toBe(1);
    expect(await callLog(call.callSid)).toMatchObject({ outcome: "missed", outcome_source: "status" });
    expect((await decisionFor(call)).decision).toBe("send");
  });

  it("no forwarding number and no voicemail: a goodbye, a missed call settled when the TwiML was answered", async () => {
    await settings({ forward_to: null, voicemail_enabled: false });
    const call = await place("no-answer");
    expect(call.callbacks.map((callback) => callback.kind)).toEqual(["voice-url", "voice-status"]);
    expect(await callLog(call.callSid)).toMatchObject({ outcome: "missed", outcome_source: "incoming" });
    expect((await decisionFor(call)).decision).toBe("send");
  });

  it("forwarded, nobody answered, voicemail off: missed, settled by the Dial result", async () => {
    await settings({ voicemail_enabled: false });
    const call = await place("no-answer");
    expect(call.callbacks.map((callback) => callback.kind)).toEqual(["voice-url", "dial-action", "voice-status"]);
    expect(await callLog(call.callSid)).toMatchObject({ outcome: "missed", outcome_source: "dial" });
  });

  it("every callback repeated, in reverse order: one call log, one call/completed, the same outcome", async () => {
    const call = await place("voicemail");
    const before = await callLog(call.callSid);
    for (const callback of [...call.callbacks].reverse()) {
      const again = await sandbox.redeliver(callback);
      expect(again.responseStatus).toBe(200);
      // A TwiML request repeated gets the same TwiML.
      expect(again.responseBody).toBe(callback.responseBody);
    }
    expect(await callLog(call.callSid)).toEqual({ ...before, updated_at: expect.any(Date) });
    const rows = await scratch.database.withService((tx) =>
      tx.selectFrom("call_logs").select("id").where("call_sid", "=", call.callSid).execute(),
    );
    expect(rows).toHaveLength(1);
    expect(await callEvents(call.callSid)).toHaveLength(1);
  });
});
