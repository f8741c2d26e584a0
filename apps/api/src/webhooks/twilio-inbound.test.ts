import { ORG_A, ORG_B, testLanes } from "@callflow/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  errorOf,
  NUMBER_A,
  NUMBER_B,
  newMessageSid,
  startTwilioTestServer,
  type TwilioTestServer,
} from "./twilio-test-server.ts";

describe.each(testLanes())("POST /webhooks/twilio/messages/inbound on %s", (lane) => {
  let server: TwilioTestServer;
  beforeAll(async () => {
    server = await startTwilioTestServer(lane);
  });
  afterAll(() => server?.close());

  // Each test texts from a number of its own, so contacts do not carry state between tests.
  let nextCaller = 100;
  const newCaller = () => `+1512555${String(nextCaller++).padStart(4, "0")}`;

  const inbound = (from: string, body: string, extra: { to?: string; sid?: string } = {}) =>
    server.post("/messages/inbound", {
      AccountSid: "AC0123456789abcdef0123456789abcdef",
      MessageSid: extra.sid ?? newMessageSid(),
      SmsMessageSid: extra.sid ?? newMessageSid(),
      From: from,
      To: extra.to ?? (from.startsWith("whatsapp:") ? `whatsapp:${NUMBER_A}` : NUMBER_A),
      Body: body,
      NumMedia: "0",
    });
  const contact = (org: string, e164: string) =>
    server.service((tx) =>
      tx
        .selectFrom("contacts")
        .selectAll()
        .where("organization_id", "=", org)
        .where("e164", "=", e164)
        .executeTakeFirst(),
    );
  const consentEvents = (contactId: string) =>
    server.service((tx) =>
      tx.selectFrom("consent_events").selectAll().where("contact_id", "=", contactId).orderBy("at").execute(),
    );
  const inboundMessages = (org: string) =>
    server.service((tx) =>
      tx.selectFrom("inbound_messages").selectAll().where("organization_id", "=", org).orderBy("received_at").execute(),
    );

  it.each(["STOP", "stop", "  Stop \n", "STOPALL", "UNSUBSCRIBE", "cancel", "END", "quit"])(
    "opts the sender out on %j with a consent event",
    async (body) => {
      const caller = newCaller();
      const sid = newMessageSid();
      const response = await inbound(caller, body, { sid });
      expect(response.status).toBe(200);
      expect(await response.text()).toContain("<Response/>");
      const row = await contact(ORG_A, caller);
      expect(row?.opted_out_at).toBeInstanceOf(Date);
      expect(await consentEvents(row?.id as string)).toMatchObject([
        {
          organization_id: ORG_A,
          channel: "sms",
          action: "opt_out",
          source: "inbound_keyword",
          actor: sid,
          evidence: { body },
        },
      ]);
    },
  );

  it("cancels the caller's jobs that wait to be sent, with the reason, and leaves one being sent", async () => {
    const caller = newCaller();
    await inbound(caller, "What time do you open?");
    const callerId = (await contact(ORG_A, caller))?.id as string;
    const jobs = await server.service(async (tx) => {
      const ids: Record<string, string> = {};
      for (const status of ["scheduled", "pending", "sending"] as const) {
        const call = await tx
          .insertInto("call_logs")
          .values({
            organization_id: ORG_A,
            call_sid: `CA${newMessageSid().slice(2)}`,
            contact_id: callerId,
            from_number: caller,
            to_number: NUMBER_A,
            status: "no-answer",
            outcome: "missed",
          })
          .returning("id")
          .executeTakeFirstOrThrow();
        const job = await tx
          .insertInto("message_jobs")
          .values({
            organization_id: ORG_A,
            call_log_id: call.id,
            contact_id: callerId,
            to_number: caller,
            decision: status === "scheduled" ? "defer" : "send",
            reason: "missed call",
            status,
          })
          .returning("id")
          .executeTakeFirstOrThrow();
        ids[status] = job.id;
      }
      return ids;
    });
    await inbound(caller, "STOP");
    const statuses = await server.service((tx) =>
      tx
        .selectFrom("message_jobs")
        .select(["id", "status", "final_reason"])
        .where("contact_id", "=", callerId)
        .execute(),
    );
    const byId = Object.fromEntries(statuses.map((job) => [job.id, [job.status, job.final_reason]]));
    expect([byId[jobs.scheduled as string], byId[jobs.pending as string], byId[jobs.sending as string]]).toEqual([
      ["canceled", "canceled: the caller opted out before it was sent"],
      ["canceled", "canceled: the caller opted out before it was sent"],
      // A send under way checks consent again before its next channel (deliver-message).
      ["sending", null],
    ]);
  });

  it("opts out on WhatsApp for every channel, and back in with START", async () => {
    const caller = newCaller();
    await inbound(`whatsapp:${caller}`, "STOP");
    const optedOut = await contact(ORG_A, caller);
    // One opted_out_at per contact: sending rules read it for WhatsApp and SMS alike.
    expect(optedOut?.opted_out_at).toBeInstanceOf(Date);
    await inbound(caller, "start");
    const optedIn = await contact(ORG_A, caller);
    expect(optedIn).toMatchObject({ opted_out_at: null });
    expect(optedIn?.opted_in_at).toBeInstanceOf(Date);
    expect((await consentEvents(optedIn?.id as string)).map((event) => [event.channel, event.action])).toEqual([
      ["whatsapp", "opt_out"],
      ["sms", "opt_in"],
    ]);
  });

  it.each([
    ["PARAR", "sms", "opt_out", "No recibirás más mensajes de Fixture org_fixture_a. Responde COMENZAR"],
    ["Baja.", "sms", "opt_out", "No recibirás más mensajes de Fixture org_fixture_a."],
    ["STOP", "whatsapp", "opt_out", "You will get no more messages from Fixture org_fixture_a. Reply START"],
    ["opt-out", "whatsapp", "opt_out", "You will get no more messages from Fixture org_fixture_a."],
  ])("records %j on %s as %s and confirms it in the caller's language", async (body, channel, action, reply) => {
    const caller = newCaller();
    const response = await inbound(channel === "whatsapp" ? `whatsapp:${caller}` : caller, body);
    expect(await response.text()).toContain(`<Message>${reply}`);
    const row = await contact(ORG_A, caller);
    expect((await consentEvents(row?.id as string)).map((event) => [event.channel, event.action])).toEqual([
      [channel, action],
    ]);
  });

  it("leaves English keywords on SMS for Twilio to confirm, and confirms COMENZAR in Spanish", async () => {
    const caller = newCaller();
    expect(await (await inbound(caller, "STOP")).text()).toContain("<Response/>");
    const restarted = await (await inbound(caller, "Comenzar")).text();
    expect(restarted).toContain("<Message>Volverás a recibir mensajes de Fixture org_fixture_a.");
    expect(await contact(ORG_A, caller)).toMatchObject({ opted_out_at: null });
  });

  it("opts back in with UNSTOP", async () => {
    const caller = newCaller();
    await inbound(caller, "QUIT");
    await inbound(caller, "UNSTOP");
    expect(await contact(ORG_A, caller)).toMatchObject({ opted_out_at: null });
  });

  it("opts out with the org that owns the number texted, not another", async () => {
    const caller = newCaller();
    await inbound(caller, "STOP", { to: NUMBER_B });
    expect((await contact(ORG_B, caller))?.opted_out_at).toBeInstanceOf(Date);
    expect(await contact(ORG_A, caller)).toBeUndefined();
  });

  it("answers HELP and INFO with the business's help text, escaped for TwiML", async () => {
    await server.service((tx) =>
      tx
        .updateTable("organizations")
        .set({ help_text: `Ben & Jerry's <Plumbing>: call 512-555-0100. Reply STOP to opt out.` })
        .where("id", "=", ORG_A)
        .execute(),
    );
    const before = await server.rowCounts();
    for (const body of ["HELP", " info "]) {
      const response = await inbound(newCaller(), body);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/xml/);
      expect(await response.text()).toContain(
        "<Response><Message>Ben &amp; Jerry's &lt;Plumbing&gt;: call 512-555-0100. Reply STOP to opt out.</Message></Response>",
      );
    }
    // Not a reply for the dashboard.
    expect((await server.rowCounts()).inbound_messages).toBe(before.inbound_messages);
  });

  it("keeps any other reply for the dashboard, once however often Twilio sends it", async () => {
    const caller = newCaller();
    const sid = newMessageSid();
    const before = await server.rowCounts();
    for (let i = 0; i < 3; i++) {
      const response = await inbound(caller, "Stop calling me, text instead please", { sid });
      expect(response.status).toBe(200);
      // No reply, the first time or when Twilio repeats it.
      expect(await response.text()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    }
    const row = await contact(ORG_A, caller);
    expect(row?.opted_out_at).toBeNull();
    const stored = (await inboundMessages(ORG_A)).filter((message) => message.provider_sid === sid);
    expect(stored).toMatchObject([
      {
        contact_id: row?.id,
        channel: "sms",
        from_number: caller,
        to_number: NUMBER_A,
        body: "Stop calling me, text instead please",
      },
    ]);
    const after = await server.rowCounts();
    expect(after.inbound_messages - before.inbound_messages).toBe(1);
    expect(after.webhook_receipts - before.webhook_receipts).toBe(1);
    expect(after.consent_events).toBe(before.consent_events);
  });

  it("keeps a WhatsApp reply with its channel, and a long one cut to what the table holds", async () => {
    const caller = newCaller();
    const sid = newMessageSid();
    await inbound(`whatsapp:${caller}`, "x".repeat(3000), { sid });
    const [stored] = (await inboundMessages(ORG_A)).filter((message) => message.provider_sid === sid);
    expect(stored).toMatchObject({ channel: "whatsapp", from_number: `whatsapp:${caller}` });
    expect(stored?.body).toHaveLength(1600);
  });

  it("keeps a message with media only, with an empty body", async () => {
    const caller = newCaller();
    const sid = newMessageSid();
    const response = await server.post("/messages/inbound", {
      MessageSid: sid,
      From: caller,
      To: NUMBER_A,
      NumMedia: "1",
    });
    expect(response.status).toBe(200);
    const [stored] = (await inboundMessages(ORG_A)).filter((message) => message.provider_sid === sid);
    expect(stored).toMatchObject({ channel: "sms", body: "" });
  });

  it("takes the channel from the sender's address prefix only", async () => {
    const sid = newMessageSid();
    await inbound("sip:whatsapp:caller", "Hello", { sid, to: NUMBER_A });
    const [stored] = (await inboundMessages(ORG_A)).filter((message) => message.provider_sid === sid);
    expect(stored).toMatchObject({ channel: "sms", contact_id: null });
  });

  it("keeps a keyword from a sender with no phone number, having no contact to opt out", async () => {
    const sid = newMessageSid();
    await inbound("CALLFLOW", "STOP", { sid });
    const [stored] = (await inboundMessages(ORG_A)).filter((message) => message.provider_sid === sid);
    expect(stored).toMatchObject({ contact_id: null, from_number: "CALLFLOW", body: "STOP" });
  });

  it("answers 200 for a number nobody owns and records the receipt for operators only", async () => {
    const sid = newMessageSid();
    const before = await server.rowCounts();
    expect((await inbound(newCaller(), "STOP", { sid, to: "+15125550999" })).status).toBe(200);
    expect(await server.rowCounts()).toEqual({ ...before, webhook_receipts: before.webhook_receipts + 1 });
    const receipt = await server.service((tx) =>
      tx.selectFrom("webhook_receipts").selectAll().where("external_id", "=", sid).executeTakeFirstOrThrow(),
    );
    expect(receipt).toMatchObject({
      organization_id: null,
      kind: "message.inbound",
      note: "no organization owns the number +15125550999",
    });
    expect(server.logs.at(-1)).toMatchObject({
      level: "warn",
      msg: "inbound message to a number nobody owns",
      sid,
      to: "+15125550999",
    });
  });

  it.each([
    [{ MessageSid: undefined }, "MessageSid is missing"],
    [{ From: undefined }, "From is missing"],
    [{ Body: "y".repeat(4097) }, "Body: must be at most 4096 characters"],
  ])("refuses a malformed message %j with 400 and stores nothing", async (change, reason) => {
    const params: Record<string, string> = { MessageSid: newMessageSid(), From: newCaller(), To: NUMBER_A, Body: "hi" };
    for (const [key, value] of Object.entries(change)) {
      if (value === undefined) delete params[key];
      else params[key] = value;
    }
    const before = await server.rowCounts();
    const response = await server.post("/messages/inbound", params);
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toContain(reason);
    expect(await server.rowCounts()).toEqual(before);
  });
});
