// What each router does for a business, over real HTTP, on every lane.
import { ORG_A, ORG_B, testLanes } from "@callflow/db/testing";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, failureOf, startTestApi, type TestApi } from "../../test-api.ts";

describe.each(testLanes())("routers on %s", (lane) => {
  let api: TestApi;
  let admin: ReturnType<TestApi["client"]>;
  let member: ReturnType<TestApi["client"]>;
  beforeAll(async () => {
    api = await startTestApi(lane);
    admin = api.client(api.token({ orgId: ORG_A, role: "admin", userId: "user_admin_a" }));
    member = api.client(api.token({ orgId: ORG_A, role: "member", userId: "user_member_a" }));
    // 120 more calls for org A, some within the same millisecond, to page through.
    await api.scratch.database.withService((tx) =>
      sql`insert into public.call_logs (organization_id, call_sid, from_number, to_number, status, outcome, started_at)
          select ${ORG_A}, 'CA' || md5('page ' || n), '+1555030' || lpad(n::text, 4, '0'), '+15550100001',
                 'completed', (array['missed','answered','voicemail'])[1 + n % 3],
                 timestamptz '2026-11-01 12:00:00Z' - (n / 3) * interval '1 minute' + (n % 3) * interval '1 microsecond'
            from generate_series(1, 120) n`.execute(tx),
    );
  });
  afterAll(() => api?.close());

  describe("calls", () => {
    it("pages newest first without gaps or repeats", async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const result = await member.calls.list.query({ limit: 25, cursor });
        seen.push(...result.items.map((call) => call.id));
        const times = result.items.map((call) => new Date(call.started_at).getTime());
        expect(times).toEqual([...times].sort((a, b) => b - a));
        cursor = result.nextCursor ?? undefined;
        pages += 1;
      } while (cursor);
      expect(pages).toBe(5);
      expect(seen).toHaveLength(121);
      expect(new Set(seen).size).toBe(121);
    });

    it("defaults to 50 a page and filters by outcome, period and number", async () => {
      expect((await member.calls.list.query({})).items).toHaveLength(50);
      const voicemail = await member.calls.list.query({ outcome: "voicemail", limit: 100 });
      expect(voicemail.items.length).toBe(40);
      expect(voicemail.items.every((call) => call.outcome === "voicemail")).toBe(true);
      const byNumber = await member.calls.list.query({ number: "5550300042" });
      expect(byNumber.items.map((call) => call.from_number)).toEqual(["+15550300042"]);
      const period = await member.calls.list.query({
        from: "2026-11-01T11:59:00Z",
        to: "2026-11-01T12:00:00Z",
        limit: 100,
      });
      expect(period.items).toHaveLength(3);
    });

    it("refuses a cursor it did not make", async () => {
      expect(await codeOf(member.calls.list.query({ cursor: "bm9wZQ" }))).toBe("BAD_REQUEST");
    });

    it("shows a call with its job and message timeline", async () => {
      const detail = await member.calls.get.query({ id: api.ids[ORG_A].call });
      expect(detail.call.organization_id).toBe(ORG_A);
      expect(detail.job?.decision).toBe("send");
      expect(detail.messages).toHaveLength(1);
      expect(detail.messages[0]?.events.map((event) => event.status)).toEqual(["delivered"]);
    });
  });

  describe("templates", () => {
    it("creates, updates, previews and archives, admin only", async () => {
      const created = await admin.templates.create.mutate({
        name: "After hours",
        trigger: "after_hours",
        language: "es",
        smsBody: "Hola {{caller_name}}, {{business_name}} está cerrado.",
        whatsappVariables: { "1": "{{business_name}}" },
      });
      expect(created).toMatchObject({ organization_id: ORG_A, trigger: "after_hours", active: true });
      expect(await codeOf(member.templates.create.mutate({ name: "x", trigger: "missed", smsBody: "x" }))).toBe(
        "FORBIDDEN",
      );
      const updated = await admin.templates.update.mutate({
        id: created.id,
        smsBody: "{{business_name}} is closed now.",
      });
      expect(updated.sms_body).toBe("{{business_name}} is closed now.");
      const preview = await member.templates.preview.query({ id: created.id });
      expect(preview.sms.text).toBe("Fixture org_fixture_a is closed now.");
      expect(preview.sms).toMatchObject({ encoding: "GSM-7", segments: 1 });
      await admin.templates.archive.mutate({ id: created.id });
      expect((await member.templates.list.query({})).items.map((t) => t.id)).not.toContain(created.id);
      expect((await member.templates.list.query({ includeArchived: true })).items.map((t) => t.id)).toContain(
        created.id,
      );
      expect(await codeOf(admin.templates.archive.mutate({ id: created.id }))).toBe("NOT_FOUND");
    });

    it("refuses a second active template for the same trigger and language with CONFLICT", async () => {
      const failure = await failureOf(
        admin.templates.create.mutate({
          name: "Another missed",
          trigger: "missed",
          language: "en",
          smsBody: "Missed you!",
        }),
      );
      expect(failure.code).toBe("CONFLICT");
      expect(failure.message).toContain("archive or deactivate it first");
    });

    it("refuses placeholders it cannot fill", async () => {
      const failure = await failureOf(
        admin.templates.create.mutate({ name: "Typo", trigger: "voicemail", smsBody: "Hi {{callr_name}}" }),
      );
      expect(failure.code).toBe("BAD_REQUEST");
      expect(failure.issues.map((issue) => issue.path)).toEqual(["smsBody"]);
      expect(failure.message).toContain("callr_name");
    });

    it("counts SMS segments and encoding in previews", async () => {
      const emoji = await member.templates.preview.query({ smsBody: `Thanks! 🙂 ${"a".repeat(70)}` });
      expect(emoji.sms).toMatchObject({ encoding: "UCS-2", segments: 2 });
    });
  });

  describe("phone numbers", () => {
    it("connects one of CallFlow's Twilio numbers in E.164, and removes it", async () => {
      const added = await admin.phoneNumbers.add.mutate({ e164: "+1 (512) 555-0142", label: "Shop" });
      expect(added.e164).toBe("+15125550142");
      const again = await failureOf(admin.phoneNumbers.add.mutate({ e164: "+15125550142" }));
      expect([again.code, again.message]).toEqual(["CONFLICT", "+15125550142 is already connected to this business"]);
      expect(await codeOf(admin.phoneNumbers.add.mutate({ e164: "12" }))).toBe("BAD_REQUEST");
      await admin.phoneNumbers.remove.mutate({ id: added.id });
      expect((await member.phoneNumbers.list.query()).map((n) => n.e164)).toEqual(["+15550100001"]);
    });

    it("says the same, and nothing about other businesses, for a number it does not own and one another business has", async () => {
      await api.client(api.token({ orgId: ORG_B, role: "admin" })).phoneNumbers.add.mutate({ e164: "+15125550188" });
      const taken = await failureOf(admin.phoneNumbers.add.mutate({ e164: "+1 512 555 0188" }));
      const notOurs = await failureOf(admin.phoneNumbers.add.mutate({ e164: "+1 512 555 0288" }));
      const unknown =
        "is not a CallFlow number you can connect: connect a number bought through CallFlow or ported to its Twilio account";
      expect([taken.code, taken.message]).toEqual(["BAD_REQUEST", `+15125550188 ${unknown}`]);
      expect([notOurs.code, notOurs.message]).toEqual(["BAD_REQUEST", `+15125550288 ${unknown}`]);
      expect((await member.phoneNumbers.list.query()).map((n) => n.e164)).toEqual(["+15550100001"]);
    });
  });

  describe("contacts", () => {
    it("records who opted a caller out and why, and back in", async () => {
      const id = api.ids[ORG_A].contact;
      const out = await member.contacts.optOut.mutate({ id, reason: "asked us on the phone" });
      expect(out.opted_out_at).not.toBeNull();
      expect((await member.contacts.list.query({ optedOut: true })).items.map((c) => c.id)).toContain(id);
      const back = await member.contacts.optIn.mutate({ id, reason: "texted START" });
      expect(back.opted_out_at).toBeNull();
      const detail = await member.contacts.get.query({ id });
      expect(detail.consent.slice(0, 2).map((event) => [event.action, event.actor, event.evidence])).toEqual([
        ["opt_in", "user_member_a", { reason: "texted START" }],
        ["opt_out", "user_member_a", { reason: "asked us on the phone" }],
      ]);
      expect(await codeOf(member.contacts.optOut.mutate({ id, reason: "" }))).toBe("BAD_REQUEST");
    });

    it("leaves the caller's own STOP for the caller to undo", async () => {
      const id = api.ids[ORG_A].contact;
      await api.scratch.database.withService((tx) =>
        tx
          .insertInto("consent_events")
          .values({
            organization_id: ORG_A,
            contact_id: id,
            channel: "sms",
            action: "opt_out",
            source: "inbound_keyword",
            actor: `SM${"5".repeat(32)}`,
          })
          .execute(),
      );
      const refused = await failureOf(admin.contacts.optIn.mutate({ id, reason: "they called and asked" }));
      expect([refused.code, refused.message]).toEqual([
        "FORBIDDEN",
        "the caller opted out by texting STOP: only they can opt back in, by texting START",
      ]);
      expect((await member.contacts.get.query({ id })).contact.opted_out_at).not.toBeNull();
    });
  });

  describe("settings", () => {
    it("updates within limits, admin only", async () => {
      const updated = await admin.settings.update.mutate({ fallback_window_seconds: 120, timezone: "Europe/Madrid" });
      expect(updated).toMatchObject({ fallback_window_seconds: 120, timezone: "Europe/Madrid" });
      expect(await codeOf(admin.settings.update.mutate({ fallback_window_seconds: 5 }))).toBe("BAD_REQUEST");
      expect(await codeOf(admin.settings.update.mutate({ timezone: "Mars/Olympus" }))).toBe("BAD_REQUEST");
      expect(await codeOf(member.settings.update.mutate({ cooldown_seconds: 60 }))).toBe("FORBIDDEN");
      expect((await member.settings.get.query()).fallback_window_seconds).toBe(120);
    });
  });

  describe("stats", () => {
    it("counts calls and messages of the org over a period", async () => {
      const stats = await member.stats.overview.query({ from: "2026-01-01T00:00:00Z", to: "2026-12-31T00:00:00Z" });
      expect(stats.calls.total).toBe(121);
      expect(stats.jobs).toMatchObject({ toSend: 1, delivered: 0 });
      expect(
        await codeOf(member.stats.overview.query({ from: "2026-02-01T00:00:00Z", to: "2026-01-01T00:00:00Z" })),
      ).toBe("BAD_REQUEST");
    });
  });
});
