// stats.overview's rates with jobs in every state: the delivery rate is delivered over
// delivered and failed, so it is never above 1, however many jobs were deferred, are on
// their way, were skipped or were canceled.
import { ORG_B, testLanes } from "@callflow/db/testing";
import fc from "fast-check";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../../../test-api.ts";

/** Every job state, with the decision that leads to it. */
const STATES = [
  { status: "pending", decision: "send" },
  { status: "scheduled", decision: "defer" },
  { status: "sending", decision: "send" },
  { status: "sending", decision: "defer" },
  { status: "delivered", decision: "send" },
  { status: "delivered", decision: "defer" },
  { status: "failed", decision: "send" },
  { status: "failed", decision: "defer" },
  { status: "skipped", decision: "skip" },
  { status: "canceled", decision: "defer" },
  { status: "canceled", decision: "send" },
] as const;

type Mix = number[];

describe.each(testLanes())("stats.overview on %s", (lane) => {
  let api: TestApi;
  let member: ReturnType<TestApi["client"]>;
  let year = 2000;
  beforeAll(async () => {
    api = await startTestApi(lane);
    member = api.client(api.token({ orgId: ORG_B, role: "member" }));
  });
  afterAll(() => api?.close());

  /** Writes `mix[i]` jobs in STATES[i], all in a year of their own; returns that year's overview. */
  async function overviewOf(mix: Mix) {
    year += 1;
    const at = `${year}-06-01T12:00:00Z`;
    const rows = STATES.flatMap((state, i) => Array.from({ length: mix[i] ?? 0 }, () => state));
    if (rows.length > 0) {
      await api.scratch.database.withService((tx) =>
        sql`
          with calls as (
            insert into public.call_logs (organization_id, call_sid, from_number, to_number, status, outcome, started_at)
            select ${ORG_B}, 'CA' || md5(${String(year)} || ' ' || n), '+15550300001', '+15550100002', 'no-answer', 'missed', ${at}::timestamptz
              from generate_series(1, ${rows.length}) n
            returning id, call_sid)
          insert into public.message_jobs (organization_id, call_log_id, to_number, decision, reason, status, channels,
                                           final_channel, created_at)
          select ${ORG_B}, calls.id, '+15550300001', r.decision, 'missed call', r.status, '{whatsapp,sms}',
                 case when r.status = 'delivered' then (case when n % 2 = 0 then 'sms' else 'whatsapp' end) end,
                 ${at}::timestamptz
            from calls
            join (select row_number() over () as n, * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
                    as r(status text, decision text)) r
              on calls.call_sid = 'CA' || md5(${String(year)} || ' ' || r.n)`.execute(tx),
      );
    }
    return member.stats.overview.query({ from: `${year}-01-01T00:00:00Z`, to: `${year + 1}-01-01T00:00:00Z` });
  }

  it("counts every job state once, and rates delivery over the deliveries that ended", async () => {
    // 1 pending, 1 scheduled, 2 sending, 1 + 3 delivered (3 of them deferred first), 1 failed, 2 skipped, 2 canceled.
    const stats = await overviewOf([1, 1, 1, 1, 1, 3, 1, 0, 2, 1, 1]);
    expect(stats.jobs).toEqual({
      toSend: 11,
      inProgress: 4,
      delivered: 4,
      failed: 1,
      canceled: 2,
      fellBack: 2,
      skipped: 2,
    });
    expect(stats.deliveryRate).toBe(0.8);
    expect(stats.fallbackRate).toBe(0.5);
  });

  it("gives no rate before any delivery ended", async () => {
    const stats = await overviewOf([2, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0]);
    expect(stats.deliveryRate).toBeNull();
    expect(stats.jobs.inProgress).toBe(4);
  });

  it("never gives a rate over 1, whatever the mix of states", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(3), { minLength: STATES.length, maxLength: STATES.length }), async (mix) => {
        const stats = await overviewOf(mix);
        const count = (status: string) =>
          STATES.reduce((sum, s, i) => sum + (s.status === status ? (mix[i] ?? 0) : 0), 0);
        const ended = count("delivered") + count("failed");
        expect(stats.deliveryRate).toBe(ended === 0 ? null : Math.round((count("delivered") / ended) * 1000) / 1000);
        expect(stats.deliveryRate ?? 0).toBeLessThanOrEqual(1);
        expect(stats.fallbackRate ?? 0).toBeLessThanOrEqual(1);
      }),
      { numRuns: 12 },
    );
  });
});
