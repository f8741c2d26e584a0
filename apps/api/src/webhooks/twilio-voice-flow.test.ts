// The voice flow's webhooks with callbacks written as Twilio sends them (signed by the twilio
// SDK), in every order and repeated: the TwiML each answers, the outcome each call settles
// on, one call log and one call/completed per call, and refusals that store nothing.

import type { Database } from "@callflow/db";
import { ORG_A, ORG_B, testLanes } from "@callflow/db/testing";
import { parseTwiml } from "@callflow/devstack";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLog } from "../log.ts";
import {
  CALLER,
  errorOf,
  NUMBER_A,
  NUMBER_B,
  newCallSid,
  PUBLIC_URL,
  startTwilioTestServer,
  type TwilioTestServer,
} from "./twilio-test-server.ts";
import { settleOverdueCalls, startOverdueCallSweep } from "./twilio-voice-overdue.ts";

const OWNER_PHONE = "+15125550199";
const VOICE = `${PUBLIC_URL}/webhooks/twilio/voice`;
const newRecordingSid = () => `RE${newCallSid().slice(2)}`;

/** Each callback of one call, with Twilio's parameter names. */
function callbacksOf(sid: string, to = NUMBER_A) {
  const common = {
    AccountSid: `AC${"0".repeat(32)}`,
    ApiVersion: "2010-04-01",
    CallSid: sid,
    From: CALLER,
    To: to,
    Direction: "inbound",
  };
  const recordingSid = newRecordingSid();
  return {
    incoming: ["/voice/incoming", { ...common, CallStatus: "ringing" }],
    dial: (status: string, duration = "0") =>
      [
        "/voice/dial",
        {
          ...common,
          CallStatus: "in-progress",
          DialCallStatus: status,
          DialCallDuration: duration,
          DialCallSid: newCallSid(),
        },
      ] as const,
    recordAction: (duration: string) =>
      [
        "/voice/recording",
        {
          ...common,
          CallStatus: "completed",
          RecordingSid: recordingSid,
          RecordingUrl: `https://api.twilio.com/Recordings/${recordingSid}`,
          RecordingDuration: duration,
          Digits: "hangup",
        },
      ] as const,
    recordingStatus: (status: "completed" | "absent", duration: string) =>
      [
        "/voice/recording",
        {
          AccountSid: common.AccountSid,
          CallSid: sid,
          RecordingSid: recordingSid,
          RecordingUrl: status === "absent" ? "" : `https://api.twilio.com/Recordings/${recordingSid}`,
          RecordingStatus: status,
          RecordingDuration: duration,
          RecordingSource: "RecordVerb",
        },
      ] as const,
    status: (duration: string) =>
      [
        "/voice",
        // Twilio's Timestamp (RFC 2822): the call ends now.
        { ...common, CallStatus: "completed", CallDuration: duration, Timestamp: new Date().toUTCString() },
      ] as const,
  } as const;
}

type Callback = readonly [string, Record<string, string>];

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, index) =>
    permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]),
  );
}

describe.each(testLanes())("the voice flow's webhooks on %s", (lane) => {
  let server: TwilioTestServer;
  beforeAll(async () => {
    server = await startTwilioTestServer(lane);
  });
  afterAll(() => server?.close());
  beforeEach(async () => {
    await server.clearEvents();
    await server.service((tx) =>
      tx
        .updateTable("organizations")
        .set({
          forward_to: OWNER_PHONE,
          forward_timeout_seconds: 12,
          voicemail_enabled: true,
          voicemail_greeting: null,
          voice_language: "en-US",
          answered_min_seconds: 5,
        })
        .execute(),
    );
  });

  const send = async ([path, params]: Callback) => {
    const response = await server.post(path, params);
    expect(response.status, await response.clone().text()).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/xml/);
    return response.text();
  };
  const callLog = (sid: string) =>
    server.service((tx) => tx.selectFrom("call_logs").selectAll().where("call_sid", "=", sid).executeTakeFirst());
  const callLogCount = (sid: string) =>
    server.service(
      async (tx) => (await tx.selectFrom("call_logs").select("id").where("call_sid", "=", sid).execute()).length,
    );
  const eventsFor = async (sid: string) => (await server.events()).filter((event) => event.id === sid);
  /** The safety net's sweep as if the grace had passed for every call that ended. */
  const graceOver = () => settleOverdueCalls(server.scratch.database, { graceSeconds: 0 });

  describe("the TwiML it answers", () => {
    it("forwards to the business's phone with the ring time, its result to /voice/dial", async () => {
      const verbs = parseTwiml(await send(callbacksOf(newCallSid()).incoming as Callback), `${VOICE}/incoming`);
      expect(verbs).toEqual([{ verb: "Dial", number: OWNER_PHONE, timeoutSeconds: 12, action: `${VOICE}/dial` }]);
    });

    it("offers the greeting and a recording after a Dial nobody answered; hangs up after one the business answered", async () => {
      const call = callbacksOf(newCallSid());
      const missed = parseTwiml(await send(call.dial("no-answer")), `${VOICE}/dial`);
      expect(missed).toEqual([
        {
          verb: "Say",
          text: expect.stringMatching(/^You have reached Fixture org_fixture_a\. .* after the beep\.$/),
          language: "en-US",
        },
        {
          verb: "Record",
          action: `${VOICE}/recording`,
          timeoutSeconds: 5,
          maxLengthSeconds: 120,
          recordingStatusCallback: `${VOICE}/recording`,
          recordingStatusCallbackEvents: ["completed", "absent"],
        },
        { verb: "Hangup" },
      ]);
      const answered = parseTwiml(await send(callbacksOf(newCallSid()).dial("completed", "40")), `${VOICE}/dial`);
      expect(answered).toEqual([{ verb: "Hangup" }]);
    });

    it("speaks the business's own greeting in its language; straight to it without a forwarding number", async () => {
      await server.service((tx) =>
        tx
          .updateTable("organizations")
          .set({ forward_to: null, voice_language: "es-ES", voicemail_greeting: "Hola, soy Rosa. Deja tu mensaje." })
          .where("id", "=", ORG_A)
          .execute(),
      );
      const sid = newCallSid();
      const verbs = parseTwiml(await send(callbacksOf(sid).incoming as Callback), `${VOICE}/incoming`);
      expect(verbs.slice(0, 1)).toEqual([{ verb: "Say", text: "Hola, soy Rosa. Deja tu mensaje.", language: "es-ES" }]);
      expect(verbs.map((verb) => verb.verb)).toEqual(["Say", "Record", "Hangup"]);
      expect(await callLog(sid)).toMatchObject({
        voice_flow: "voicemail",
        voicemail_offered: true,
        outcome: null,
        status: "ringing",
      });
    });

    it("says goodbye and settles a missed call at once without a forwarding number or voicemail", async () => {
      await server.service((tx) =>
        tx
          .updateTable("organizations")
          .set({ forward_to: null, voicemail_enabled: false, voice_language: "es-MX" })
          .where("id", "=", ORG_A)
          .execute(),
      );
      const sid = newCallSid();
      const verbs = parseTwiml(await send(callbacksOf(sid).incoming as Callback), `${VOICE}/incoming`);
      expect(verbs).toEqual([
        { verb: "Say", text: expect.stringMatching(/^Ha llamado a .* Adiós\.$/), language: "es-MX" },
        { verb: "Hangup" },
      ]);
      expect(await callLog(sid)).toMatchObject({ voice_flow: "hangup", outcome: "missed", outcome_source: "incoming" });
      expect((await eventsFor(sid)).map((event) => event.name)).toEqual(["call/completed"]);
    });

    it("never forwards to a number connected to CallFlow (that would call itself): voicemail instead", async () => {
      await server.service((tx) =>
        tx.updateTable("organizations").set({ forward_to: NUMBER_B }).where("id", "=", ORG_A).execute(),
      );
      const verbs = parseTwiml(await send(callbacksOf(newCallSid()).incoming as Callback), `${VOICE}/incoming`);
      expect(verbs.map((verb) => verb.verb)).toEqual(["Say", "Record", "Hangup"]);
    });

    it("ends a call to a number nobody owns, and records it for operators only", async () => {
      const sid = newCallSid();
      const before = await server.rowCounts();
      const verbs = parseTwiml(await send(callbacksOf(sid, "+15125550999").incoming as Callback), `${VOICE}/incoming`);
      expect(verbs).toEqual([{ verb: "Hangup" }]);
      expect(await server.rowCounts()).toEqual({ ...before, webhook_receipts: before.webhook_receipts + 1 });
    });

    it("answers a repeated request with the same flow, even after the settings changed", async () => {
      const call = callbacksOf(newCallSid());
      const first = await send(call.incoming as Callback);
      await server.service((tx) =>
        tx.updateTable("organizations").set({ forward_to: null }).where("id", "=", ORG_A).execute(),
      );
      expect(await send(call.incoming as Callback)).toBe(first);
      const dial = call.dial("busy");
      const offered = await send(dial);
      await server.service((tx) =>
        tx.updateTable("organizations").set({ voicemail_enabled: false }).where("id", "=", ORG_A).execute(),
      );
      expect(await send(dial)).toBe(offered);
    });
  });

  describe("the outcome, whatever order the callbacks arrive in", () => {
    it.each(
      permutations(["dial", "recordAction", "recordingStatus", "status"] as const).map(
        (order) => [order.join(" → "), order] as const,
      ),
    )("voicemail path: %s", async (_name, order) => {
      const sid = newCallSid();
      const call = callbacksOf(sid);
      const byName: Record<(typeof order)[number], Callback> = {
        dial: call.dial("no-answer"),
        recordAction: call.recordAction("23"),
        recordingStatus: call.recordingStatus("completed", "23"),
        status: call.status("55"),
      };
      await send(call.incoming as Callback);
      for (const name of order) await send(byName[name]);
      // And everything again: Twilio's retries change nothing.
      for (const name of [...order].reverse()) await send(byName[name]);
      // The final status waits for the Record action and the recording, which Twilio may post just after it.
      expect(await graceOver()).toBe(0);
      const log = await callLog(sid);
      expect(log).toMatchObject({
        outcome: "voicemail",
        outcome_source: "recording",
        status: "completed",
        duration_seconds: 55,
        dial_status: "no-answer",
        voicemail_offered: true,
        recording_duration_seconds: 23,
      });
      expect(await callLogCount(sid)).toBe(1);
      expect(await eventsFor(sid)).toEqual([
        { name: "call/completed", id: sid, data: { callSid: sid, organizationId: ORG_A, callLogId: log?.id } },
      ]);
    });

    it("settles the call as voicemail for a Record action delivered again after the process died before settling it", async () => {
      const sid = newCallSid();
      const call = callbacksOf(sid);
      await send(call.incoming as Callback);
      await send(call.dial("no-answer"));
      const database = server.scratch.database;
      const dying: Database = {
        ...database,
        callServiceFunction: (name, args) =>
          name === "app.settle_call"
            ? Promise.reject(new Error("the process died here"))
            : database.callServiceFunction(name, args),
      };
      const [path, params] = call.recordAction("23");
      expect((await server.postVia(dying, path, params)).status).not.toBe(200);
      expect(await callLog(sid)).toMatchObject({ recording_duration_seconds: 23, outcome_settled_at: null });
      expect(await eventsFor(sid)).toEqual([]);

      // Twilio's retry is answered only with the outcome and call/completed written.
      await send(call.recordAction("23"));
      const log = await callLog(sid);
      expect(log).toMatchObject({ outcome: "voicemail", outcome_source: "recording" });
      expect(await eventsFor(sid)).toEqual([
        { name: "call/completed", id: sid, data: { callSid: sid, organizationId: ORG_A, callLogId: log?.id } },
      ]);
      await send(call.recordAction("23"));
      await send(call.status("40"));
      expect(await graceOver()).toBe(0);
      expect(await eventsFor(sid)).toHaveLength(1);
    });

    it.each([
      ["answered: Dial, then the final status", ["dial", "status"]],
      ["answered: the final status just before the Dial action (the caller hung up first)", ["status", "dial"]],
    ] as const)("%s", async (_name, order) => {
      const sid = newCallSid();
      const call = callbacksOf(sid);
      const byName = { dial: call.dial("completed", "95"), status: call.status("99") };
      await send(call.incoming as Callback);
      for (const name of order) await send(byName[name]);
      expect(await graceOver()).toBe(0);
      // The final status of a forwarded call is "completed" with the ringing in it; it never makes a call answered.
      expect(await callLog(sid)).toMatchObject({
        outcome: "answered",
        outcome_source: "dial",
        dial_status: "completed",
        dial_duration_seconds: 95,
      });
      expect((await eventsFor(sid)).length).toBe(1);
    });

    it("settles a call whose Dial action never came as missed once the grace has passed; a late one changes nothing", async () => {
      const sid = newCallSid();
      const call = callbacksOf(sid);
      await send(call.incoming as Callback);
      await send(call.status("40"));
      // Within the grace (10 s by default) the sweep leaves it: the Dial action may be on its way.
      expect(await settleOverdueCalls(server.scratch.database)).toBe(0);
      expect(await callLog(sid)).toMatchObject({ outcome: null, outcome_settled_at: null });
      expect(await eventsFor(sid)).toEqual([]);
      expect(await graceOver()).toBe(1);
      expect(await graceOver()).toBe(0);
      await send(call.dial("completed", "30"));
      expect(await callLog(sid)).toMatchObject({
        outcome: "missed",
        outcome_source: "status",
        dial_status: "completed",
      });
      expect((await eventsFor(sid)).length).toBe(1);
    });

    it.each([
      ["nobody answered, voicemail off", { voicemail_enabled: false }, "no-answer", [], "missed", "dial"],
      ["busy, caller hung up before the beep", {}, "busy", ["status"], "missed", "status"],
      ["silence after the beep (an empty recording)", {}, "no-answer", ["absent", "status"], "missed", "recording"],
      ["picked up and hung up at once", {}, "completed", ["status"], "missed", "status"],
    ] as const)("%s", async (_name, settings, dialStatus, after, outcome, source) => {
      if (Object.keys(settings).length)
        await server.service((tx) => tx.updateTable("organizations").set(settings).where("id", "=", ORG_A).execute());
      const sid = newCallSid();
      const call = callbacksOf(sid);
      await send(call.incoming as Callback);
      await send(call.dial(dialStatus, dialStatus === "completed" ? "2" : "0"));
      for (const step of after) await send(step === "absent" ? call.recordingStatus("absent", "0") : call.status("20"));
      // Settled by the final status only once its grace has passed (nothing else came).
      if (source === "status") expect((await callLog(sid))?.outcome).toBeNull();
      await graceOver();
      expect(await callLog(sid)).toMatchObject({ outcome, outcome_source: source });
      expect((await eventsFor(sid)).length).toBe(1);
    });

    it("never sweeps a call that did not come through the Voice URL: its final status settled it at once", async () => {
      const sid = newCallSid();
      await send(callbacksOf(sid).status("42"));
      expect(await callLog(sid)).toMatchObject({ voice_flow: null, outcome: "answered", outcome_source: "status" });
      // A call logged before the voice flow existed, ended long ago and never marked settled.
      const legacySid = newCallSid();
      await server.service((tx) =>
        tx
          .insertInto("call_logs")
          .values({
            organization_id: ORG_A,
            call_sid: legacySid,
            from_number: CALLER,
            to_number: NUMBER_A,
            status: "completed",
            outcome: "answered",
            ended_at: new Date(Date.now() - 3_600_000),
          })
          .execute(),
      );
      expect(await graceOver()).toBe(0);
      expect(await callLog(legacySid)).toMatchObject({ outcome: "answered", outcome_settled_at: null });
      expect((await eventsFor(sid)).length).toBe(1);
      expect(await eventsFor(legacySid)).toEqual([]);
    });

    it("the running sweep settles a call over for longer than the grace, and wakes the outbox relay", async () => {
      const sid = newCallSid();
      const call = callbacksOf(sid);
      await send(call.incoming as Callback);
      const [path, params] = call.status("30");
      // Ended a minute ago by Twilio's clock: past the 10 s grace.
      await send([path, { ...params, Timestamp: new Date(Date.now() - 60_000).toUTCString() }]);
      let woken = 0;
      const sweep = startOverdueCallSweep({
        database: server.scratch.database,
        outbox: { wake: () => void woken++ },
        log: createLog("silent"),
        intervalMs: 20,
      });
      try {
        await expect.poll(() => woken, { timeout: 10_000 }).toBe(1);
      } finally {
        await sweep.stop();
      }
      expect(await callLog(sid)).toMatchObject({ outcome: "missed", outcome_source: "status" });
      expect((await eventsFor(sid)).length).toBe(1);
    });

    it("settles once when the same callbacks arrive at the same moment", async () => {
      const sid = newCallSid();
      const call = callbacksOf(sid);
      await send(call.incoming as Callback);
      const burst = [
        call.dial("no-answer"),
        call.recordAction("12"),
        call.recordingStatus("completed", "12"),
        call.status("40"),
      ];
      await Promise.all(Array.from({ length: 5 }, () => burst.map(send)).flat());
      expect(await callLog(sid)).toMatchObject({ outcome: "voicemail", outcome_source: "recording" });
      expect(await callLogCount(sid)).toBe(1);
      expect((await eventsFor(sid)).length).toBe(1);
    });

    it("keeps a recording of a call it never heard of for operators, and answers 200", async () => {
      const sid = newCallSid();
      const before = await server.rowCounts();
      await send(callbacksOf(sid).recordingStatus("completed", "9"));
      expect(await server.rowCounts()).toEqual({ ...before, webhook_receipts: before.webhook_receipts + 1 });
      expect(await eventsFor(sid)).toEqual([]);
    });
  });

  describe("refusals store nothing", () => {
    const routes = () => {
      const call = callbacksOf(newCallSid());
      return [
        call.incoming as Callback,
        call.dial("no-answer"),
        call.recordAction("10"),
        call.recordingStatus("completed", "10"),
        call.status("10"),
      ];
    };

    it.each(["/voice/incoming", "/voice/dial", "/voice/recording"])(
      "%s: unsigned, mis-signed or signed for another URL gets 403",
      async (path) => {
        for (const [route, params] of routes().filter(([route]) => route === path)) {
          const before = await server.rowCounts();
          for (const options of [
            { signature: null },
            { token: "not-the-auth-token" },
            { signedTarget: "/voice" },
            { signedParams: { ...params, CallSid: newCallSid() } },
          ]) {
            const response = await server.post(route, params, options);
            expect(response.status).toBe(403);
            expect(await errorOf(response)).toMatch(/X-Twilio-Signature/);
          }
          expect(await server.rowCounts()).toEqual(before);
          expect(await server.events()).toEqual([]);
        }
      },
    );

    it.each<[string, Record<string, string>, string]>([
      [
        "/voice/incoming",
        { CallSid: "CA1", From: CALLER, To: NUMBER_A },
        "CallSid: must be CA followed by 32 hex digits",
      ],
      ["/voice/incoming", { CallSid: newCallSid(), From: CALLER }, "To is missing"],
      [
        "/voice/dial",
        { CallSid: newCallSid(), From: CALLER, To: NUMBER_A, DialCallStatus: "ringing" },
        'DialCallStatus: Unknown dial status "ringing"',
      ],
      [
        "/voice/dial",
        { CallSid: newCallSid(), From: CALLER, To: NUMBER_A, DialCallStatus: "busy", DialCallDuration: "-1" },
        "DialCallDuration: must be a whole number of seconds",
      ],
      [
        "/voice/recording",
        { CallSid: newCallSid(), From: CALLER, To: NUMBER_A, Digits: "hangup" },
        "not a Record action: RecordingDuration missing",
      ],
      [
        "/voice/recording",
        { CallSid: newCallSid(), RecordingSid: "RE12", RecordingStatus: "completed" },
        "RecordingSid: must be RE followed by 32 hex digits",
      ],
      ["/voice/recording", { CallSid: newCallSid(), RecordingStatus: "lost" }, "RecordingStatus"],
    ])("%s refuses %j with 400 and the reason", async (path, params, reason) => {
      const before = await server.rowCounts();
      const response = await server.post(path, params);
      expect(response.status).toBe(400);
      expect(await errorOf(response)).toContain(reason);
      expect(await server.rowCounts()).toEqual(before);
      expect(await server.events()).toEqual([]);
    });

    it("never touches another organization's call with the same CallSid", async () => {
      const sid = newCallSid();
      await send(callbacksOf(sid, NUMBER_B).incoming as Callback);
      await send(callbacksOf(sid).dial("completed", "80"));
      expect(await callLog(sid)).toMatchObject({ organization_id: ORG_B, dial_status: null, outcome: null });
    });
  });
});
