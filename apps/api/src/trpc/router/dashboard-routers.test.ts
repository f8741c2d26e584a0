// The procedures the dashboard added: callers' replies, the change probe, per-day trends
// and delivery outcomes, and error codes explained in a call's timeline. Real HTTP, every lane.
import { ORG_A, ORG_B, testLanes } from "@callflow/db/testing";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, startTestApi, type TestApi } from "../../test-api.ts";

describe.each(testLanes())("dashboard procedures on %s", (lane) => {
  let api: TestApi;
  let member: ReturnType<TestApi["client"]>;
  let otherOrg: ReturnType<TestApi["client"]>;
  beforeAll(async () => {
    api = await startTestApi(lane);
    member = api.client(api.token({ orgId: ORG_A, role: "member", userId: "user_member_a" }));
    otherOrg = api.client(api.token({ orgId: ORG_B, role: "admin", userId: "user_admin_b" }));
  });
  afterAll(() => api?.close());

  const asService = <T>(fn: Parameters<TestApi["scratch"]["database"]["withService"]>[0]) =>
    api.scratch.database.withService(fn) as Promise<T>;

  describe("replies", () => {
    it("lists the org's replies newest first, linked to the call they answer", async () => {
      const ids = api.ids[ORG_A];
      await asService(async (tx) => {
        await sql`update public.call_logs set started_at = now() - interval '1 hour' where id = ${ids.call}`.execute(
          tx,
        );
        await sql`insert into public.inbound_messages (organization_id, contact_id, channel, from_number, to_number, body, provider_sid)
                  values (${ORG_A}, ${ids.contact}, 'whatsapp', 'whatsapp:+15550200001', 'whatsapp:+15550100001',
                          'Thanks, see you at 6', 'SM' || md5('second reply'))`.execute(tx);
      });
      const { items } = await member.replies.list.query({});
      expect(items.map((reply) => reply.body)).toEqual(["Thanks, see you at 6", "Please call me back after 5"]);
      expect(items.every((reply) => reply.call_id === ids.call)).toBe(true);
      expect((await otherOrg.replies.list.query({})).items.map((reply) => reply.body)).toEqual([
        "Please call me back after 5",
      ]);
      const forCall = await member.replies.forCall.query({ id: ids.call });
      expect(forCall.map((reply) => reply.body)).toEqual(["Please call me back after 5", "Thanks, see you at 6"]);
      expect(await codeOf(otherOrg.replies.forCall.query({ id: ids.call }))).toBe("NOT_FOUND");
    });

    it("counts unread replies; a member marks them read and unread again", async () => {
      expect(await member.replies.unreadCount.query()).toBe(2);
      const [newest] = (await member.replies.list.query({ unreadOnly: true })).items;
      expect(await member.replies.markRead.mutate({ ids: [newest?.id ?? ""] })).toEqual({ updated: 1 });
      expect(await member.replies.unreadCount.query()).toBe(1);
      expect((await member.replies.list.query({ unreadOnly: true })).items).toHaveLength(1);
      await member.replies.markRead.mutate({ ids: [newest?.id ?? ""], read: false });
      expect(await member.replies.unreadCount.query()).toBe(2);
      expect(await member.replies.markRead.mutate({ all: true })).toEqual({ updated: 2 });
      expect(await member.replies.unreadCount.query()).toBe(0);
      // The other org's reply is not touched, and not reachable by id either.
      expect(await otherOrg.replies.unreadCount.query()).toBe(1);
      const [theirs] = (await otherOrg.replies.list.query({})).items;
      expect(await codeOf(member.replies.markRead.mutate({ ids: [theirs?.id ?? ""] }))).toBe("NOT_FOUND");
      expect(await otherOrg.replies.unreadCount.query()).toBe(1);
    });

    it("refuses bad input with BAD_REQUEST", async () => {
      expect(await codeOf(member.replies.markRead.mutate({ ids: [] }))).toBe("BAD_REQUEST");
      expect(await codeOf(member.replies.markRead.mutate({ ids: ["not-a-uuid"] }))).toBe("BAD_REQUEST");
      expect(await codeOf(member.replies.list.query({ cursor: "bm9wZQ" }))).toBe("BAD_REQUEST");
    });

    it("pages through replies with its cursor", async () => {
      await asService((tx) =>
        sql`insert into public.inbound_messages (organization_id, channel, from_number, to_number, body, provider_sid, received_at)
            select ${ORG_A}, 'sms', '+1555040' || lpad(n::text, 4, '0'), '+15550100001', 'reply ' || n,
                   'SM' || md5('paged reply ' || n), timestamptz '2026-11-01 12:00:00Z' + (n / 2) * interval '1 second'
              from generate_series(1, 9) n`.execute(tx),
      );
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const result = await member.replies.list.query({ limit: 4, cursor });
        seen.push(...result.items.map((reply) => reply.id));
        cursor = result.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toHaveLength(11);
      expect(new Set(seen).size).toBe(11);
    });
  });

  describe("live.changes", () => {
    it("moves when a call, a message status, a reply or the subscription changes, and only for that org", async () => {
      const before = await member.live.changes.query();
      const otherBefore = await otherOrg.live.changes.query();
      expect(await member.live.changes.query()).toEqual(before);
      await asService((tx) =>
        sql`update public.messages set status = 'read' where id = ${api.ids[ORG_A].message}`.execute(tx),
      );
      const afterStatus = await member.live.changes.query();
      expect(afterStatus.version).not.toBe(before.version);
      expect(await otherOrg.live.changes.query()).toEqual(otherBefore);
      await asService((tx) =>
        sql`insert into public.inbound_messages (organization_id, channel, from_number, to_number, body, provider_sid)
            values (${ORG_A}, 'sms', '+15550200001', '+15550100001', 'one more', 'SM' || md5('live reply'))`.execute(
          tx,
        ),
      );
      const afterReply = await member.live.changes.query();
      expect(afterReply.version).not.toBe(afterStatus.version);
      expect(afterReply.unreadReplies).toBe(afterStatus.unreadReplies + 1);
      // Stripe changed the plan (the billing sync wrote it): the billing page refetches too.
      await asService((tx) =>
        sql`insert into public.subscriptions (organization_id, plan, status) values (${ORG_A}, 'growth', 'active')
            on conflict (organization_id) do update set plan = 'growth'`.execute(tx),
      );
      expect((await member.live.changes.query()).version).not.toBe(afterReply.version);
    });
  });

  describe("stats trends", () => {
    it("counts per day of the business's timezone, every day present", async () => {
      await asService(async (tx) => {
        await sql`update public.organizations set timezone = 'Europe/Madrid' where id = ${ORG_A}`.execute(tx);
        // 23:30 UTC on the 10th is 00:30 on the 11th in Madrid.
        await sql`insert into public.call_logs (organization_id, call_sid, from_number, to_number, status, outcome, started_at)
                  values (${ORG_A}, 'CA' || md5('madrid 1'), '+34600000001', '+15550100001', 'no-answer', 'missed', '2026-11-10T23:30:00Z'),
                         (${ORG_A}, 'CA' || md5('madrid 2'), '+34600000002', '+15550100001', 'no-answer', 'missed', '2026-11-10T22:30:00Z'),
                         (${ORG_A}, 'CA' || md5('madrid 3'), '+34600000003', '+15550100001', 'no-answer', 'missed', '2026-11-12T10:00:00Z')`.execute(
          tx,
        );
      });
      const days = await member.stats.daily.query({ from: "2026-11-09T23:00:00Z", to: "2026-11-12T23:00:00Z" });
      expect(days.map((day) => [day.day, day.calls])).toEqual([
        ["2026-11-10", 1],
        ["2026-11-11", 1],
        ["2026-11-12", 1],
      ]);
      const otherDays = await otherOrg.stats.daily.query({ from: "2026-11-09T23:00:00Z", to: "2026-11-12T23:00:00Z" });
      expect(otherDays.reduce((sum, day) => sum + day.calls, 0)).toBe(0);
      expect(await codeOf(member.stats.daily.query({ from: "2026-11-12T00:00:00Z", to: "2026-11-01T00:00:00Z" }))).toBe(
        "BAD_REQUEST",
      );
    });

    it("says where each message ended: WhatsApp, SMS fallback, failed, skipped and why", async () => {
      await asService((tx) =>
        sql`with calls as (
              insert into public.call_logs (organization_id, call_sid, from_number, to_number, status, outcome)
              select ${ORG_A}, 'CA' || md5('outcome ' || n), '+1555050000' || n, '+15550100001', 'no-answer', 'missed'
                from generate_series(1, 5) n
              returning id, from_number)
            insert into public.message_jobs (organization_id, call_log_id, to_number, decision, reason, status, channels, final_channel)
            select ${ORG_A}, id, from_number, v.decision, v.reason, v.status, v.channels::text[], v.final_channel
              from (select id, from_number, row_number() over (order by from_number) as n from calls) c
              join (values (1, 'send', 'missed call', 'delivered', '{whatsapp,sms}', 'whatsapp'),
                           (2, 'send', 'missed call', 'delivered', '{whatsapp,sms}', 'sms'),
                           (3, 'send', 'missed call', 'failed', '{whatsapp,sms}', null),
                           (4, 'skip', 'the caller opted out', 'skipped', '{whatsapp,sms}', null),
                           (5, 'skip', 'the caller opted out', 'skipped', '{whatsapp,sms}', null))
                   as v(n, decision, reason, status, channels, final_channel) using (n)`.execute(tx),
      );
      const { calls, jobs, skipReasons } = await member.stats.outcomes.query({});
      expect(calls.total).toBeGreaterThanOrEqual(6);
      expect(jobs).toMatchObject({ deliveredWhatsapp: 1, fellBackToSms: 1, failed: 1, skipped: 2, callersReached: 2 });
      expect(skipReasons).toEqual([{ reason: "the caller opted out", count: 2 }]);
      expect((await otherOrg.stats.outcomes.query({})).jobs.skipped).toBe(0);
    });
  });

  describe("calls.get", () => {
    it("explains each error code in words", async () => {
      const ids = api.ids[ORG_A];
      await asService(async (tx) => {
        const { rows } = await sql<{ id: string }>`
          insert into public.messages (organization_id, job_id, channel, provider_sid, to_number, status, error_code)
          values (${ORG_A}, ${ids.job}, 'whatsapp', 'SM' || md5('whatsapp failed'), '+15550200001', 'failed', 63024)
          returning id`.execute(tx);
        await sql`insert into public.message_events (organization_id, message_id, provider_sid, status, error_code)
                  values (${ORG_A}, ${rows[0]?.id}, 'SM' || md5('whatsapp failed'), 'failed', 63024)`.execute(tx);
      });
      const { messages } = await member.calls.get.query({ id: ids.call });
      const whatsapp = messages.find((message) => message.channel === "whatsapp");
      expect(whatsapp?.error_description).toMatch(/cannot receive WhatsApp messages/);
      expect(whatsapp?.events[0]?.error_description).toMatch(/not on WhatsApp/);
      expect(messages.find((message) => message.channel === "sms")?.error_description).toBeNull();
    });
  });
});
