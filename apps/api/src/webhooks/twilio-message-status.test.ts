import { randomUUID } from "node:crypto";
import { ORG_A, ORG_B, testLanes } from "@callflow/db/testing";
import { mergeStatus, messageStatuses, parseMessageStatus } from "@callflow/domain";
import {
  applyStatusReport,
  type RecordedStatus,
  recordStatusCallback,
  recordStatusCallbacks,
  type StatusReport,
} from "@callflow/inngest";
import { statusCallbackUrls } from "@callflow/providers";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  AUTH_TOKEN,
  CALLER,
  errorOf,
  insertSentMessage,
  NUMBER_A,
  newMessageSid,
  PUBLIC_URL,
  startTwilioTestServer,
  type TwilioTestServer,
} from "./twilio-test-server.ts";

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, index) =>
    permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]),
  );
}

/**
 * The expected end state, stated independently of mergeStatus: a failure ends the message
 * unless the handset confirmed it first; otherwise the furthest status wins.
 */
function expectedFinal(order: readonly string[]): string {
  const forward = ["queued", "sent", "delivered", "read"];
  const failure = order.findIndex((status) => status === "failed" || status === "undelivered");
  const confirmed = order.findIndex((status) => status === "delivered" || status === "read");
  if (failure !== -1 && (confirmed === -1 || failure < confirmed)) return order[failure] as string;
  return forward.filter((status) => order.includes(status)).at(-1) as string;
}

describe.each(testLanes())("POST /webhooks/twilio/messages/status on %s", (lane) => {
  let server: TwilioTestServer;
  beforeAll(async () => {
    server = await startTwilioTestServer(lane);
  });
  afterAll(() => server?.close());
  beforeEach(async () => {
    await server.clearEvents();
  });
  const statusCallbacks = statusCallbackUrls({ publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN });

  const statusCallback = (
    sid: string,
    status: string,
    options: { messageId?: string; errorCode?: string; errorMessage?: string } = {},
  ) =>
    server.post(
      "/messages/status",
      {
        AccountSid: "AC0123456789abcdef0123456789abcdef",
        MessageSid: sid,
        SmsSid: sid,
        MessageStatus: status,
        SmsStatus: status,
        To: `whatsapp:${CALLER}`,
        From: `whatsapp:${NUMBER_A}`,
        ChannelPrefix: "whatsapp",
        ...(options.errorCode ? { ErrorCode: options.errorCode } : {}),
        ...(options.errorMessage ? { ErrorMessage: options.errorMessage } : {}),
      },
      options.messageId ? { query: new URL(statusCallbacks.urlFor(options.messageId)).search.slice(1) } : {},
    );
  const message = (id: string) =>
    server.service((tx) => tx.selectFrom("messages").selectAll().where("id", "=", id).executeTakeFirstOrThrow());
  const receiptNote = async (externalId: string) =>
    (
      await server.service((tx) =>
        tx
          .selectFrom("webhook_receipts")
          .select("note")
          .where("external_id", "=", externalId)
          .executeTakeFirstOrThrow(),
      )
    ).note;
  const eventRows = (id: string) =>
    server.service((tx) =>
      tx.selectFrom("message_events").selectAll().where("message_id", "=", id).orderBy("received_at").execute(),
    );

  it("records the callback, moves the status and sends message/status.updated", async () => {
    const sid = newMessageSid();
    const { messageId, jobId } = await insertSentMessage(server, ORG_A, { providerSid: sid });
    const response = await statusCallback(sid, "delivered");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/xml/);
    expect(await message(messageId)).toMatchObject({ status: "delivered", error_code: null });
    const events = await eventRows(messageId);
    expect(events).toMatchObject([
      { organization_id: ORG_A, provider_sid: sid, status: "delivered", error_code: null },
    ]);
    expect(events[0]?.payload).toMatchObject({
      MessageSid: sid,
      MessageStatus: "delivered",
      ChannelPrefix: "whatsapp",
    });
    expect(await server.events()).toEqual([
      {
        name: "message/status.updated",
        id: `${sid}:delivered`,
        data: { sid, messageId, jobId, organizationId: ORG_A, status: "delivered", errorCode: null },
      },
    ]);
  });

  describe.each([
    ["queued, sent, delivered and read", ["queued", "sent", "delivered", "read"]],
    ["queued, sent, delivered and failed", ["queued", "sent", "delivered", "failed"]],
    ["sent, read and undelivered", ["sent", "read", "undelivered"]],
  ])("every order of %s", (_name, statuses) => {
    it.each(permutations(statuses).map((order) => [order.join(" → "), order]))(
      "%s ends as the furthest status, or the failure that came before delivery",
      async (_label, order) => {
        const sid = newMessageSid();
        const { messageId } = await insertSentMessage(server, ORG_B, { providerSid: sid });
        for (const status of order as string[])
          expect((await statusCallback(sid, status, status === "failed" ? { errorCode: "30008" } : {})).status).toBe(
            200,
          );
        const expected = expectedFinal(order as string[]);
        const stored = await message(messageId);
        expect(stored.status).toBe(expected);
        expect(stored.error_code).toBe(expected === "failed" ? 30008 : null);
        // A message_events row per distinct callback, also for those that moved nothing.
        expect((await eventRows(messageId)).map((event) => event.status)).toEqual(order);
        // Each event carries the stored status after its callback; the last one, the final.
        expect((await server.events()).at(-1)?.data.status).toBe(expected);
      },
    );
  });

  // The statement is given packages/domain's rules; it applies them as mergeStatus does, for
  // every stored status and every reported one (statuses Twilio may add, too).
  it("moves a message's status as mergeStatus does, for every stored and reported status", async () => {
    const sid = newMessageSid();
    const { messageId } = await insertSentMessage(server, ORG_B, { providerSid: sid });
    const mismatches: string[] = [];
    for (const current of messageStatuses) {
      for (const reported of [...messageStatuses, "partially_delivered"]) {
        await server.service((tx) =>
          tx.updateTable("messages").set({ status: current }).where("id", "=", messageId).execute(),
        );
        const recorded = await server.service((tx) =>
          applyStatusReport(tx, {
            sid,
            messageId: null,
            reported,
            errorCode: null,
            errorMessage: null,
            source: "reconciled",
            payload: {},
            at: new Date(),
          }),
        );
        const incoming = parseMessageStatus(reported);
        const expected = incoming ? mergeStatus(current, incoming) : current;
        if (recorded?.status !== expected || (await message(messageId)).status !== expected)
          mismatches.push(`${current} + ${reported}: ${recorded?.status}, expected ${expected}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("ends as read when the four callbacks arrive at once", async () => {
    for (let round = 0; round < 3; round++) {
      const sid = newMessageSid();
      const { messageId } = await insertSentMessage(server, ORG_A, { providerSid: sid });
      const responses = await Promise.all(
        ["read", "delivered", "sent", "queued"].map((status) => statusCallback(sid, status)),
      );
      expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200]);
      expect((await message(messageId)).status).toBe("read");
      expect(await eventRows(messageId)).toHaveLength(4);
    }
  });

  it("records callbacks that arrived together in one statement as it records them one by one", async () => {
    // Two sets of messages get the same callbacks: one set one by one, the other as one batch.
    const at = new Date("2026-11-25T14:03:07.000Z");
    const scripts: { status: string; errorCode?: number; errorMessage?: string; linked?: boolean }[][] = [
      [{ status: "sent" }, { status: "delivered" }, { status: "read" }],
      [{ status: "read" }, { status: "sent" }, { status: "sent" }],
      [{ status: "sent" }, { status: "undelivered", errorCode: 30003, errorMessage: "Unreachable handset" }],
      [{ status: "partially_delivered" }, { status: "delivered", linked: true }],
    ];
    const run = async (batched: boolean) => {
      const messages = await Promise.all(
        scripts.map(async (_, i) => {
          const sid = newMessageSid();
          // The last message's sid was never stored: its callbacks name it in the URL.
          const { messageId } = await insertSentMessage(server, ORG_A, { providerSid: i === 3 ? null : sid });
          return { sid, messageId };
        }),
      );
      const reports: StatusReport[] = scripts.flatMap((script, i) =>
        script.map((step) => ({
          sid: messages[i]?.sid as string,
          messageId: i === 3 ? (messages[i]?.messageId as string) : null,
          reported: step.status,
          errorCode: step.errorCode ?? null,
          errorMessage: step.errorMessage ?? null,
          source: "callback" as const,
          payload: { MessageStatus: step.status },
          at,
        })),
      );
      reports.push({ ...(reports[0] as StatusReport), sid: newMessageSid() }); // nobody's message
      const database = server.scratch.database;
      const recorded = batched
        ? await recordStatusCallbacks(database, reports)
        : await reports.reduce<Promise<(RecordedStatus | undefined)[]>>(
            async (done, report) => [...(await done), await recordStatusCallback(database, report)],
            Promise.resolve([]),
          );
      // The unknown sid is new each run.
      const results = recorded.map((r) => r && { ...r, note: r.note?.replace(/SM[0-9a-f]{32}/, "SM…") });
      const stored = await Promise.all(
        messages.map(async ({ messageId }) => {
          const { status, error_code, error_message } = await message(messageId);
          const events = (await eventRows(messageId)).map((e) => [e.status, e.error_code, e.payload]);
          return { status, error_code, error_message, events };
        }),
      );
      const outbox = (await server.events()).map((event) => {
        const index = messages.findIndex((m) => m.sid === event.data.sid);
        return [index, event.id.slice(event.id.indexOf(":")), event.data.status, event.data.errorCode];
      });
      await server.clearEvents();
      return { results, stored, outbox };
    };
    const alone = await run(false);
    const together = await run(true);
    expect(together).toEqual(alone);
    expect(alone.results.map((result) => result?.result)).toEqual([
      ...["recorded", "recorded", "recorded", "recorded", "recorded", "repeat", "recorded", "recorded"],
      ...["recorded", "recorded", "unknown"],
    ]);
    expect(alone.stored.map((m) => m.status)).toEqual(["read", "read", "undelivered", "delivered"]);
  });

  it("records a repeated callback once, with one event in the outbox", async () => {
    const sid = newMessageSid();
    const { messageId } = await insertSentMessage(server, ORG_A, { providerSid: sid });
    await statusCallback(sid, "sent");
    await statusCallback(sid, "sent");
    expect(await eventRows(messageId)).toHaveLength(1);
    expect((await server.events()).map((event) => [event.id, event.data.status])).toEqual([[`${sid}:sent`, "sent"]]);
  });

  it("stores the error code with a failure and keeps statuses it does not know as events only", async () => {
    const sid = newMessageSid();
    const { messageId } = await insertSentMessage(server, ORG_A, { providerSid: sid });
    await statusCallback(sid, "partially_delivered");
    expect((await message(messageId)).status).toBe("accepted");
    await statusCallback(sid, "undelivered", { errorCode: "30003", errorMessage: "x".repeat(1200) });
    expect(await message(messageId)).toMatchObject({
      status: "undelivered",
      error_code: 30003,
      // Kept up to 1,000 characters.
      error_message: "x".repeat(1000),
    });
    expect((await eventRows(messageId)).map((event) => [event.status, event.error_code])).toEqual([
      ["partially_delivered", null],
      ["undelivered", 30003],
    ]);
    expect((await server.events()).at(-1)?.data).toMatchObject({ status: "undelivered", errorCode: 30003 });
  });

  it("links a message whose sid was never stored through the messageId in the callback URL", async () => {
    const sid = newMessageSid();
    const { messageId, jobId } = await insertSentMessage(server, ORG_A, { providerSid: null, status: "pending" });
    expect((await statusCallback(sid, "sent", { messageId })).status).toBe(200);
    expect(await message(messageId)).toMatchObject({ provider_sid: sid, status: "sent" });
    // Later callbacks find it by its sid, with or without the id.
    await statusCallback(sid, "delivered");
    expect((await message(messageId)).status).toBe("delivered");
    expect((await server.events()).map((event) => event.data)).toEqual([
      { sid, messageId, jobId, organizationId: ORG_A, status: "sent", errorCode: null },
      { sid, messageId, jobId, organizationId: ORG_A, status: "delivered", errorCode: null },
    ]);
  });

  it("does not link a messageId that belongs to another sid", async () => {
    const stored = newMessageSid();
    const other = newMessageSid();
    const { messageId } = await insertSentMessage(server, ORG_A, { providerSid: stored });
    const before = await server.rowCounts();
    expect((await statusCallback(other, "delivered", { messageId })).status).toBe(200);
    expect(await message(messageId)).toMatchObject({ provider_sid: stored, status: "accepted" });
    expect(await server.rowCounts()).toEqual({ ...before, webhook_receipts: before.webhook_receipts + 1 });
    expect(await receiptNote(`${other}:delivered`)).toBe(`message ${messageId} was sent as ${stored}, not ${other}`);
    expect(await server.events()).toEqual([]);
  });

  it("records a callback naming a message that does not exist for operators only", async () => {
    const sid = newMessageSid();
    const missing = randomUUID();
    const before = await server.rowCounts();
    expect((await statusCallback(sid, "delivered", { messageId: missing })).status).toBe(200);
    expect(await server.rowCounts()).toEqual({ ...before, webhook_receipts: before.webhook_receipts + 1 });
    expect(await receiptNote(`${sid}:delivered`)).toBe(`no message has provider sid ${sid} or id ${missing}`);
    expect(await server.events()).toEqual([]);
  });

  it("answers 200 for an unknown message and records the receipt for operators only", async () => {
    const sid = newMessageSid();
    const before = await server.rowCounts();
    expect((await statusCallback(sid, "delivered")).status).toBe(200);
    expect(await server.rowCounts()).toEqual({ ...before, webhook_receipts: before.webhook_receipts + 1 });
    const receipt = await server.service((tx) =>
      tx
        .selectFrom("webhook_receipts")
        .selectAll()
        .where("external_id", "=", `${sid}:delivered`)
        .executeTakeFirstOrThrow(),
    );
    expect(receipt).toMatchObject({
      organization_id: null,
      kind: "message.status",
      note: `no message has provider sid ${sid}`,
    });
    expect(await server.events()).toEqual([]);
    expect(server.logs.at(-1)).toMatchObject({
      level: "warn",
      msg: "message status callback for an unknown message",
      sid,
    });
  });

  it.each([
    [{ MessageSid: undefined }, "MessageSid is missing"],
    [{ MessageSid: "SM-not-a-sid" }, "MessageSid: must be SM or MM followed by 32 hex digits"],
    [{ MessageStatus: "" }, "MessageStatus: must not be empty"],
    [{ ErrorCode: "thirty" }, "ErrorCode: must be a Twilio error code"],
    [{ ErrorCode: "30003x" }, "ErrorCode: must be a Twilio error code"],
    [{ ErrorCode: "x30003" }, "ErrorCode: must be a Twilio error code"],
    [{ MessageSid: `SM${"a".repeat(32)}z` }, "MessageSid: must be SM or MM followed by 32 hex digits"],
    [{ MessageSid: `xSM${"a".repeat(32)}` }, "MessageSid: must be SM or MM followed by 32 hex digits"],
  ])("refuses a malformed callback %j with 400 and stores nothing", async (change, reason) => {
    const params: Record<string, string> = { MessageSid: newMessageSid(), MessageStatus: "delivered" };
    for (const [key, value] of Object.entries(change)) {
      if (value === undefined) delete params[key];
      else params[key] = value;
    }
    const before = await server.rowCounts();
    const response = await server.post("/messages/status", params);
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toContain(reason);
    expect(await server.rowCounts()).toEqual(before);
  });

  it("refuses a messageId whose URL this server did not make for it, with 403 and nothing stored", async () => {
    const sid = newMessageSid();
    const victim = await insertSentMessage(server, ORG_A, { providerSid: null, status: "pending" });
    const mine = await insertSentMessage(server, ORG_A, { providerSid: null, status: "pending" });
    // A URL minted for one message, pointed at another; one with no token; one expired.
    const minted = new URLSearchParams(new URL(statusCallbacks.urlFor(mine.messageId)).search);
    minted.set("messageId", victim.messageId);
    const expired = new URL(statusCallbacks.urlFor(victim.messageId, new Date(Date.now() - 31 * 86_400_000))).search;
    const before = await server.rowCounts();
    for (const [query, reason] of [
      [minted.toString(), "the status callback URL was not made for this message"],
      [`messageId=${victim.messageId}`, "the status callback URL must carry messageId, expires and token"],
      [expired.slice(1), "the status callback URL has expired"],
    ] as const) {
      const response = await server.post(
        "/messages/status",
        { MessageSid: sid, MessageStatus: "delivered" },
        { query },
      );
      expect(response.status).toBe(403);
      expect(await errorOf(response)).toBe(reason);
    }
    expect(await server.rowCounts()).toEqual(before);
    expect(await message(victim.messageId)).toMatchObject({ provider_sid: null, status: "pending" });
  });

  it("refuses a messageId that is no id with 400", async () => {
    const response = await server.post(
      "/messages/status",
      { MessageSid: newMessageSid(), MessageStatus: "sent" },
      { query: "messageId=42" },
    );
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toContain("messageId: must be a message id (uuid)");
    for (const messageId of [`x${randomUUID()}`, `${randomUUID()}x`]) {
      const padded = await server.post(
        "/messages/status",
        { MessageSid: newMessageSid(), MessageStatus: "sent" },
        { query: `messageId=${messageId}` },
      );
      expect(padded.status).toBe(400);
    }
  });
  describe("what a failure says about the caller", () => {
    /** A sent WhatsApp message whose job belongs to a caller of its own. */
    async function sentToCaller(e164: string) {
      const sid = newMessageSid();
      const sent = await insertSentMessage(server, ORG_A, { providerSid: sid });
      const contactId = await server.service(async (tx) => {
        const contact = await tx
          .insertInto("contacts")
          .values({ organization_id: ORG_A, e164 })
          .returning("id")
          .executeTakeFirstOrThrow();
        await tx.updateTable("message_jobs").set({ contact_id: contact.id }).where("id", "=", sent.jobId).execute();
        return contact.id;
      });
      const contact = () =>
        server.service((tx) =>
          tx.selectFrom("contacts").selectAll().where("id", "=", contactId).executeTakeFirstOrThrow(),
        );
      const ledger = () =>
        server.service((tx) =>
          tx
            .selectFrom("consent_events")
            .select(["action", "source", "actor", "channel", "evidence"])
            .where("contact_id", "=", contactId)
            .execute(),
        );
      return { sid, ...sent, contact, ledger };
    }

    it("marks the caller not on WhatsApp, dated, when WhatsApp fails with 63024 after accepting", async () => {
      const caller = await sentToCaller("+15125550810");
      await statusCallback(caller.sid, "failed", { errorCode: "63024" });
      expect(await message(caller.messageId)).toMatchObject({ status: "failed", error_code: 63024 });
      const contact = await caller.contact();
      expect(contact.whatsapp_status).toBe("unavailable");
      expect(Date.now() - (contact.whatsapp_checked_at as Date).getTime()).toBeLessThan(60_000);
      expect(await caller.ledger()).toEqual([]);
    });

    it("records 21610 as the caller's opt-out, from the carrier, in the consent ledger", async () => {
      const caller = await sentToCaller("+15125550811");
      await statusCallback(caller.sid, "failed", { errorCode: "21610" });
      expect((await caller.contact()).opted_out_at).not.toBeNull();
      expect(await caller.ledger()).toEqual([
        {
          action: "opt_out",
          source: "carrier",
          actor: "twilio_21610",
          channel: "whatsapp",
          evidence: { error_code: 21610, message_id: caller.messageId, job_id: caller.jobId },
        },
      ]);
    });

    it("learns nothing from other failures, or from a failure reported after delivery", async () => {
      const other = await sentToCaller("+15125550812");
      await statusCallback(other.sid, "failed", { errorCode: "63016" });
      expect((await other.contact()).whatsapp_status).toBe("unknown");
      const late = await sentToCaller("+15125550813");
      await statusCallback(late.sid, "delivered");
      await statusCallback(late.sid, "failed", { errorCode: "63024" });
      expect(await message(late.messageId)).toMatchObject({ status: "delivered" });
      expect((await late.contact()).whatsapp_status).toBe("unknown");
    });
  });
});
