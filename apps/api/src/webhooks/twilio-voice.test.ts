import type { Database } from "@callflow/db";
import { ORG_A, ORG_B, testLanes } from "@callflow/db/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CALLER,
  errorOf,
  NUMBER_A,
  NUMBER_B,
  newCallSid,
  startTwilioTestServer,
  type TwilioTestServer,
} from "./twilio-test-server.ts";
import { type CallReport, CallReportIngest, NumberOwnerMemo } from "./twilio-voice-flow.ts";
import { settleOverdueCalls } from "./twilio-voice-overdue.ts";

describe.each(testLanes())("POST /webhooks/twilio/voice on %s", (lane) => {
  let server: TwilioTestServer;
  beforeAll(async () => {
    server = await startTwilioTestServer(lane);
  });
  afterAll(() => server?.close());
  beforeEach(async () => {
    await server.clearEvents();
  });

  const callbackParams = (sid: string, status: string, extra: Record<string, string> = {}) => ({
    AccountSid: "AC0123456789abcdef0123456789abcdef",
    CallSid: sid,
    CallStatus: status,
    From: CALLER,
    To: NUMBER_A,
    Direction: "inbound",
    Timestamp: "Wed, 25 Nov 2026 14:03:07 +0000",
    ...extra,
  });
  const callback = (sid: string, status: string, extra: Record<string, string> = {}) =>
    server.post("/voice", callbackParams(sid, status, extra));
  const callLog = (sid: string) =>
    server.service((tx) => tx.selectFrom("call_logs").selectAll().where("call_sid", "=", sid).executeTakeFirst());
  const receipts = (sid: string) =>
    server.service((tx) =>
      tx.selectFrom("webhook_receipts").selectAll().where("external_id", "like", `${sid}:%`).execute(),
    );

  it("logs a completed call, creates the caller's contact and sends call/completed with the CallSid as id", async () => {
    const sid = newCallSid();
    const response = await callback(sid, "completed", { CallDuration: "42" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/xml/);
    expect(await response.text()).toContain("<Response/>");

    const log = await callLog(sid);
    const contact = await server.service((tx) =>
      tx
        .selectFrom("contacts")
        .select("id")
        .where("organization_id", "=", ORG_A)
        .where("e164", "=", CALLER)
        .executeTakeFirstOrThrow(),
    );
    expect(log).toMatchObject({
      organization_id: ORG_A,
      phone_number_id: server.ids[ORG_A].phoneNumber,
      contact_id: contact.id,
      from_number: CALLER,
      to_number: NUMBER_A,
      direction: "inbound",
      status: "completed",
      outcome: "answered",
      duration_seconds: 42,
    });
    expect(log?.ended_at?.toISOString()).toBe("2026-11-25T14:03:07.000Z");
    expect(log?.started_at.toISOString()).toBe("2026-11-25T14:02:25.000Z");
    expect(await server.events()).toEqual([
      { name: "call/completed", id: sid, data: { callSid: sid, organizationId: ORG_A, callLogId: log?.id } },
    ]);
    expect(await receipts(sid)).toMatchObject([
      { provider: "twilio", external_id: `${sid}:completed`, organization_id: ORG_A },
    ]);
  });

  it.each([
    ["no-answer", {}, "missed"],
    ["busy", {}, "missed"],
    ["completed", { CallDuration: "3" }, "missed"],
    ["completed", { CallDuration: "30", AnsweredBy: "machine_end_beep" }, "voicemail"],
  ] as const)("takes the outcome of %s %j from the org's thresholds: %s", async (status, extra, outcome) => {
    const sid = newCallSid();
    expect((await callback(sid, status, extra)).status).toBe(200);
    expect((await callLog(sid))?.outcome).toBe(outcome);
    expect((await server.events()).map((event) => event.id)).toEqual([sid]);
  });

  it("uses the org's own answered threshold", async () => {
    await server.service((tx) =>
      tx.updateTable("organizations").set({ answered_min_seconds: 60 }).where("id", "=", ORG_B).execute(),
    );
    const sid = newCallSid();
    await callback(sid, "completed", { To: NUMBER_B, CallDuration: "42" });
    expect(await callLog(sid)).toMatchObject({ organization_id: ORG_B, outcome: "missed" });
  });

  it("moves a call's status forward only; a final status stays", async () => {
    const sid = newCallSid();
    await callback(sid, "ringing");
    expect(await callLog(sid)).toMatchObject({ status: "ringing", outcome: null, ended_at: null });
    expect(await server.events()).toEqual([]);
    await callback(sid, "in-progress");
    await callback(sid, "ringing");
    expect((await callLog(sid))?.status).toBe("in-progress");
    await callback(sid, "completed", { CallDuration: "12" });
    await callback(sid, "in-progress");
    await callback(sid, "canceled");
    expect(await callLog(sid)).toMatchObject({ status: "completed", outcome: "answered", duration_seconds: 12 });
    // One receipt per distinct callback: the repeated ringing and in-progress count once.
    expect(await receipts(sid)).toHaveLength(4);
    // One event for the call, whatever final callbacks follow: one run downstream.
    expect((await server.events()).map((event) => [event.name, event.id])).toEqual([["call/completed", sid]]);
  });

  it("keeps a later status when an earlier one, never seen before, arrives after it", async () => {
    const sid = newCallSid();
    await callback(sid, "in-progress");
    // First sightings of these statuses: the receipt dedupe lets them through, the ordering must not.
    expect((await callback(sid, "ringing")).status).toBe(200);
    expect((await callback(sid, "queued")).status).toBe(200);
    expect(await receipts(sid)).toHaveLength(3);
    expect(await callLog(sid)).toMatchObject({ status: "in-progress", outcome: null, ended_at: null });
    await callback(sid, "no-answer");
    expect((await callLog(sid))?.status).toBe("no-answer");
  });

  it("leaves another org's call log alone when a callback to this org's number names its CallSid", async () => {
    const sid = newCallSid();
    await callback(sid, "ringing");
    const before = await callLog(sid);
    expect(before).toMatchObject({ organization_id: ORG_A, status: "ringing" });

    const response = await callback(sid, "completed", { To: NUMBER_B, CallDuration: "30" });
    expect(response.status).toBe(200);
    expect(await callLog(sid)).toEqual(before);
    // Nothing downstream for org B names org A's call log.
    expect(await server.events()).toEqual([]);
    const logs = await server.service((tx) =>
      tx.selectFrom("call_logs").select("organization_id").where("call_sid", "=", sid).execute(),
    );
    expect(logs).toEqual([{ organization_id: ORG_A }]);
  });

  it("moves a call on from queued, and ends it on failed", async () => {
    const sid = newCallSid();
    await callback(sid, "queued");
    await callback(sid, "ringing");
    expect((await callLog(sid))?.status).toBe("ringing");
    expect(await server.events()).toEqual([]);
    await callback(sid, "failed");
    expect(await callLog(sid)).toMatchObject({ status: "failed", outcome: "missed" });
    expect((await callLog(sid))?.ended_at?.toISOString()).toBe("2026-11-25T14:03:07.000Z");
    expect((await server.events()).map((event) => event.id)).toEqual([sid]);
  });

  it.each([
    ["inbound", "inbound"],
    ["outbound-api", "outbound"],
    ["outbound-dial", "outbound"],
  ])("records Direction %s as %s, and who answered", async (direction, stored) => {
    const sid = newCallSid();
    await callback(sid, "completed", { Direction: direction, CallDuration: "30", AnsweredBy: "human" });
    expect(await callLog(sid)).toMatchObject({ direction: stored, answered_by: "human" });
  });

  it("takes empty optional fields as not sent", async () => {
    const sid = newCallSid();
    const response = await callback(sid, "no-answer", { CallDuration: "", AnsweredBy: "", Timestamp: "" });
    expect(response.status).toBe(200);
    expect(await callLog(sid)).toMatchObject({ duration_seconds: null, answered_by: null, outcome: "missed" });
  });

  it("stores one call log and one receipt for the same callback sent 10 times at once", async () => {
    const sid = newCallSid();
    const before = await server.rowCounts();
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => callback(sid, "no-answer", { From: "+15125550177" })),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(10).fill(200));
    const after = await server.rowCounts();
    expect(after.call_logs - before.call_logs).toBe(1);
    expect(after.webhook_receipts - before.webhook_receipts).toBe(1);
    expect(after.contacts - before.contacts).toBe(1);
    const log = await callLog(sid);
    expect(await server.events()).toEqual([
      { name: "call/completed", id: sid, data: { callSid: sid, organizationId: ORG_A, callLogId: log?.id } },
    ]);
  });

  it("answers 200 for a number nobody owns, recording a receipt for operators and nothing else", async () => {
    const sid = newCallSid();
    const before = await server.rowCounts();
    const response = await callback(sid, "completed", { To: "+15125550999", CallDuration: "5" });
    expect(response.status).toBe(200);
    const after = await server.rowCounts();
    expect(after).toEqual({ ...before, webhook_receipts: before.webhook_receipts + 1 });
    expect(await receipts(sid)).toMatchObject([
      { organization_id: null, kind: "voice.status", note: "no organization owns the called number +15125550999" },
    ]);
    expect(await server.events()).toEqual([]);
    expect(server.logs.at(-1)).toMatchObject({
      level: "warn",
      msg: "voice callback for a number nobody owns",
      callSid: sid,
      to: "+15125550999",
    });
  });

  it("keeps a withheld caller's call without a contact", async () => {
    const sid = newCallSid();
    const before = await server.rowCounts();
    expect((await callback(sid, "no-answer", { From: "anonymous" })).status).toBe(200);
    expect(await callLog(sid)).toMatchObject({ from_number: "anonymous", contact_id: null, outcome: "missed" });
    expect((await server.rowCounts()).contacts).toBe(before.contacts);
    expect((await server.events()).map((event) => event.id)).toEqual([sid]);
  });

  it("finds the org by its number however it is spaced", async () => {
    const sid = newCallSid();
    await callback(sid, "busy", { To: "+1 555 010 0002" });
    expect((await callLog(sid))?.organization_id).toBe(ORG_B);
  });

  it("writes the event in the call's own transaction: answered 200 whatever Inngest's state, once however often repeated", async () => {
    const sid = newCallSid();
    expect((await callback(sid, "completed", { CallDuration: "9" })).status).toBe(200);
    expect((await callback(sid, "completed", { CallDuration: "9" })).status).toBe(200);
    expect((await callLog(sid))?.status).toBe("completed");
    expect((await server.events()).map((event) => event.id)).toEqual([sid]);
    expect(await receipts(sid)).toHaveLength(1);
  });

  const finalReport = (sid: string, durationSeconds: number): CallReport => ({
    callSid: sid,
    from: CALLER,
    to: NUMBER_A,
    status: "completed",
    durationSeconds,
  });
  const receiptOf = (sid: string) => ({
    externalId: `${sid}:completed`,
    kind: "voice.status" as const,
    unownedNote: "nobody owns it",
  });

  it("records and settles a new call of a number it has seen in one statement, and a call already logged in two, with no transaction", async () => {
    const used = { statements: 0, transactions: 0 };
    const database = server.scratch.database;
    const counting: Database = {
      ...database,
      callServiceFunction(name, args) {
        used.statements++;
        return database.callServiceFunction(name, args);
      },
      withService(fn) {
        used.transactions++;
        return database.withService(fn);
      },
    };
    const owners = new NumberOwnerMemo();
    const reports = new CallReportIngest(counting, owners);
    // First sight of the number in this process: its org is learnt, the call settled by a second statement.
    const first = newCallSid();
    expect(await reports.ingest(receiptOf(first), finalReport(first, 30))).toBe("settled");
    expect(used).toEqual({ statements: 2, transactions: 0 });
    const second = newCallSid();
    expect(await reports.ingest(receiptOf(second), finalReport(second, 3))).toBe("settled");
    expect(used).toEqual({ statements: 3, transactions: 0 });
    expect(await callLog(second)).toMatchObject({ outcome: "missed", outcome_source: "status", status: "completed" });
    const log = await callLog(second);
    expect((await server.events()).slice(-1)).toEqual([
      { name: "call/completed", id: second, data: { callSid: second, organizationId: ORG_A, callLogId: log?.id } },
    ]);
    // The common case: a call the incoming webhook logged, ended by its final status: two round trips.
    const logged = newCallSid();
    await callback(logged, "ringing");
    expect(await reports.ingest(receiptOf(logged), finalReport(logged, 30))).toBe("settled");
    expect(used).toEqual({ statements: 5, transactions: 0 });
    expect(await callLog(logged)).toMatchObject({ outcome: "answered", outcome_source: "status" });
    expect((await server.events()).at(-1)?.id).toBe(logged);
    // A number whose org the process remembers wrongly: written for its real owner, settled by the second statement.
    owners.remember(NUMBER_B, ORG_A); // NUMBER_B is stored as sent
    const moved = newCallSid();
    const report = { ...finalReport(moved, 600), to: NUMBER_B };
    expect(await reports.ingest(receiptOf(moved), report)).toBe("settled");
    expect(await callLog(moved)).toMatchObject({ organization_id: ORG_B, outcome: "answered" });
    expect((await server.events()).at(-1)?.data).toMatchObject({ organizationId: ORG_B });
  });

  /**
   * The scratch database, naming each service-function call in `calls` and running `before(name)`
   * first (a rejection or a throw fails the call there).
   */
  const serviceCalls = (before: (name: string) => Promise<void> | void = () => {}) => {
    const database = server.scratch.database;
    const calls: string[] = [];
    const counting: Database = {
      ...database,
      async callServiceFunction(name, args) {
        calls.push(name);
        await before(name);
        return database.callServiceFunction(name, args);
      },
    };
    return { counting, calls };
  };
  /** serviceCalls, with `fail` throwing the error it gives instead of a call. */
  const countingCalls = (fail?: (name: string) => Error | null) =>
    serviceCalls((name) => {
      const error = fail?.(name);
      if (error) throw error;
    });
  /** Callbacks of 30 calls, all at once: each final status twice, and a "ringing" late for a third of them. */
  const together = (reports: CallReportIngest) => {
    const sids = Array.from({ length: 30 }, () => newCallSid());
    const callbacks = sids.flatMap((sid, i) => [
      { sid, status: "no-answer" as const },
      { sid, status: "no-answer" as const },
      ...(i % 3 === 0 ? [{ sid, status: "ringing" as const }] : []),
    ]);
    const ingests = callbacks.map(({ sid, status }) =>
      reports
        .ingest(
          { ...receiptOf(sid), externalId: `${sid}:${status}` },
          { callSid: sid, from: CALLER, to: NUMBER_A, status },
        )
        .then((result) => ({ sid, result })),
    );
    return { sids, ingests };
  };
  /** Each call of `sids` logged once, ended as missed, with one receipt per distinct status and one event. */
  async function expectEachOnce(sids: string[]) {
    for (const [i, sid] of sids.entries()) {
      expect(await callLog(sid)).toMatchObject({ status: "no-answer", outcome: "missed", organization_id: ORG_A });
      expect(await receipts(sid)).toHaveLength(i % 3 === 0 ? 2 : 1);
    }
    const events = (await server.events()).map((event) => event.id);
    expect(events.toSorted()).toEqual(sids.toSorted());
  }
  /** Exactly one callback of each call settled it. */
  const settledOnceEach = (sids: string[], results: { sid: string; result: string }[]) =>
    expect(sids.map((sid) => results.filter((r) => r.sid === sid && r.result === "settled").length)).toEqual(
      sids.map(() => 1),
    );

  it("records callbacks that arrive together in one statement each batch, each with the effect it has alone", async () => {
    const { counting, calls } = countingCalls();
    // The process has seen the number before: the event for its org is built with each report.
    const reports = new CallReportIngest(counting);
    const seen = newCallSid();
    expect(await reports.ingest(receiptOf(seen), finalReport(seen, 0))).toBe("settled");
    await server.clearEvents();
    calls.length = 0;
    const before = await server.rowCounts();
    const { sids, ingests } = together(reports);
    const results = await Promise.all(ingests);
    settledOnceEach(sids, results);
    expect(results.every((r) => r.result !== "unowned")).toBe(true);
    expect(calls.filter((name) => name === "app.record_call_reports").length).toBeGreaterThan(0);
    // Far fewer statements than callbacks: those that waited for a slot went together.
    expect(calls.length).toBeLessThan(results.length / 2);
    expect((await server.rowCounts()).call_logs - before.call_logs).toBe(30);
    await expectEachOnce(sids);
  });

  it("records a failed batch's callbacks one by one, and fails them all at once when the database is unreachable", async () => {
    // A deadlock with another batch: nothing of it was written; each callback is recorded alone.
    let deadlocks = 1;
    const deadlocked = countingCalls((name) =>
      name === "app.record_call_reports" && deadlocks-- > 0
        ? Object.assign(new Error("deadlock detected"), { code: "40P01" })
        : null,
    );
    const first = together(new CallReportIngest(deadlocked.counting));
    settledOnceEach(first.sids, await Promise.all(first.ingests));
    expect(deadlocked.calls.filter((name) => name === "app.record_call_report").length).toBeGreaterThan(10);
    await expectEachOnce(first.sids);

    const unreachable = countingCalls((name) =>
      name === "app.record_call_reports"
        ? Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })
        : null,
    );
    const cut = together(new CallReportIngest(unreachable.counting));
    const outcomes = await Promise.allSettled(cut.ingests);
    // The first went alone at once (as many as may be in flight); every one that waited went in
    // a batch, failed with it, and was not tried again one by one.
    const alone = unreachable.calls.filter((name) => name === "app.record_call_report").length;
    expect(alone).toBeGreaterThan(0);
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      ...Array(alone).fill("fulfilled"),
      ...Array(outcomes.length - alone).fill("rejected"),
    ]);
  });

  /** The scratch database, except that app.settle_call waits for `before()` (and fails when it rejects). */
  const settlingAfter = (before: () => Promise<void>): Database =>
    serviceCalls((name) => (name === "app.settle_call" ? before() : undefined)).counting;
  const finalStatus = { CallDuration: "30" };

  it("answers a callback delivered again after the process died between recording and settling only with the call settled", async () => {
    const sid = newCallSid();
    await callback(sid, "ringing");
    const dying = settlingAfter(() => Promise.reject(new Error("the process died here")));
    // The first delivery's recording statement commits (its receipt too), then the process dies: no 200.
    const first = await server.postVia(dying, "/voice", callbackParams(sid, "completed", finalStatus));
    expect(first.status).not.toBe(200);
    expect(await callLog(sid)).toMatchObject({ status: "completed", outcome: null, outcome_settled_at: null });
    expect(await receipts(sid)).toHaveLength(2);
    expect(await server.events()).toEqual([]);

    // Twilio delivers it again (the connection failed): the 200 comes with the outcome and call/completed.
    expect((await callback(sid, "completed", finalStatus)).status).toBe(200);
    const settled = await callLog(sid);
    expect(settled).toMatchObject({ status: "completed", outcome: "answered", outcome_source: "status" });
    expect(await server.events()).toEqual([
      { name: "call/completed", id: sid, data: { callSid: sid, organizationId: ORG_A, callLogId: settled?.id } },
    ]);

    // More repeats, one after another and at once: each a repeat now, writing nothing.
    const before = await server.rowCounts();
    expect((await callback(sid, "completed", finalStatus)).status).toBe(200);
    const together = await Promise.all(Array.from({ length: 5 }, () => callback(sid, "completed", finalStatus)));
    expect(together.map((response) => response.status)).toEqual(Array(5).fill(200));
    expect(await server.rowCounts()).toEqual(before);
    expect(await callLog(sid)).toEqual(settled);
    expect((await server.events()).map((event) => event.id)).toEqual([sid]);
    expect(await receipts(sid)).toHaveLength(2);
    // Nothing left for the sweep.
    await settleOverdueCalls(server.scratch.database, { graceSeconds: 0 });
    expect(await callLog(sid)).toEqual(settled);
    expect((await server.events()).filter((event) => event.id === sid)).toHaveLength(1);
  });

  it("settles the call for a repeat that arrives while the first delivery is between recording and settling", async () => {
    const sid = newCallSid();
    await callback(sid, "ringing");
    let recorded!: () => void;
    const between = new Promise<void>((resolve) => {
      recorded = resolve;
    });
    let resume!: () => void;
    const paused = new Promise<void>((resolve) => {
      resume = resolve;
    });
    const slow = settlingAfter(() => {
      recorded();
      return paused;
    });
    const first = server.postVia(slow, "/voice", callbackParams(sid, "completed", finalStatus));
    await between;
    expect(await callLog(sid)).toMatchObject({ status: "completed", outcome_settled_at: null });

    expect((await callback(sid, "completed", finalStatus)).status).toBe(200);
    expect(await callLog(sid)).toMatchObject({ outcome: "answered", outcome_source: "status" });
    expect((await server.events()).map((event) => event.id)).toEqual([sid]);

    // The first delivery goes on: its settle finds the call settled, and adds nothing.
    resume();
    expect((await first).status).toBe(200);
    expect((await server.events()).map((event) => event.id)).toEqual([sid]);
  });

  it("answers a repeat of a final status that leaves the Dial action due without writing again or settling", async () => {
    const sid = newCallSid();
    // As the incoming webhook logs a forwarded call.
    const incoming: CallReport = {
      callSid: sid,
      from: CALLER,
      to: NUMBER_A,
      status: "in-progress",
      voiceFlow: "forward",
    };
    const incomingReceipt = { ...receiptOf(sid), externalId: `${sid}:incoming` };
    expect(await new CallReportIngest(server.scratch.database).ingest(incomingReceipt, incoming)).toBe("recorded");
    expect((await callback(sid, "completed", finalStatus)).status).toBe(200);
    const ended = await callLog(sid);
    expect(ended).toMatchObject({ status: "completed", voice_flow: "forward", outcome_settled_at: null });
    const before = await server.rowCounts();
    expect((await callback(sid, "completed", finalStatus)).status).toBe(200);
    expect(await server.rowCounts()).toEqual(before);
    expect(await callLog(sid)).toEqual(ended);
    expect(await server.events()).toEqual([]);
    // The grace over, the sweep settles it (the Dial action never came): once.
    await settleOverdueCalls(server.scratch.database, { graceSeconds: 0 });
    await settleOverdueCalls(server.scratch.database, { graceSeconds: 0 });
    expect(await callLog(sid)).toMatchObject({ outcome: "missed", outcome_source: "status" });
    expect((await server.events()).filter((event) => event.id === sid)).toHaveLength(1);
  });

  it.each([
    [{ CallSid: undefined }, "CallSid is missing"],
    [{ CallSid: "CA123" }, "CallSid: must be CA followed by 32 hex digits"],
    [{ CallStatus: "hung-up" }, 'CallStatus: Unknown call status "hung-up"'],
    [{ To: undefined }, "To is missing"],
    [{ CallDuration: "-4" }, "CallDuration: must be a whole number of seconds"],
    [{ CallDuration: "42s" }, "CallDuration: must be a whole number of seconds"],
    [{ CallSid: `CA${"a".repeat(32)}z` }, "CallSid: must be CA followed by 32 hex digits"],
    [{ CallSid: `xCA${"a".repeat(32)}` }, "CallSid: must be CA followed by 32 hex digits"],
    [
      { CallSid: "CA123", CallStatus: "hung-up" },
      'CallSid: must be CA followed by 32 hex digits; CallStatus: Unknown call status "hung-up"',
    ],
    [{ Timestamp: "yesterday" }, "Timestamp: must be a date"],
    [{ From: "x".repeat(65) }, "From: must be at most 64 characters"],
  ])("refuses a malformed callback %j with 400 and stores nothing", async (change, reason) => {
    const params: Record<string, string> = {
      CallSid: newCallSid(),
      CallStatus: "completed",
      From: CALLER,
      To: NUMBER_A,
      CallDuration: "10",
    };
    for (const [key, value] of Object.entries(change)) {
      if (value === undefined) delete params[key];
      else params[key] = value;
    }
    const before = await server.rowCounts();
    const response = await server.post("/voice", params);
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toContain(reason);
    expect(await server.rowCounts()).toEqual(before);
    expect(await server.events()).toEqual([]);
  });
});
