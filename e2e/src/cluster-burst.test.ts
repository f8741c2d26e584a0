// Several API processes, stateless, one shared executor: the product started with
// API_PROCESSES=2 (a primary and two node:cluster workers on one port) against the PostgreSQL
// server, and the local executor in a process of its own, as API replicas share Inngest. A
// burst of calls, with repeated and out-of-order status callbacks, and one worker killed
// (SIGKILL) in the middle of it: every callback answered 200 has its call/completed in the
// outbox when it is answered (a repeat too, though the killed worker recorded its first delivery
// and died before settling), and every call ends with one call log, one job and at most one
// message a channel. And GET /metrics of a cluster counts every worker's requests.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiWorkerPids } from "@callflow/api/cluster-workers";
import { migrate, seedOnce } from "@callflow/db";
import { bareDatabase, type ScratchDatabase, testLanes } from "@callflow/db/testing";
import { TWILIO_SANDBOX_ACCOUNT_SID } from "@callflow/devstack";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { e2eEnv } from "./env.ts";
import {
  burstCallers,
  type ExecutorProcess,
  freePort,
  type Product,
  postTwilioWebhook,
  startExecutorProcess,
  startProduct,
} from "./product.ts";

const CALLS = e2eEnv.E2E_CLUSTER_CALLS;
const SENDERS = 16;
// call-completed starts at most 120 runs a minute per business (its throttle), so the burst goes
// to businesses in turn, each getting no more than half a minute of its throttle: 17 for 1,000 calls.
const CALLS_PER_BUSINESS = 60;
const BUSINESSES = Math.ceil(CALLS / CALLS_PER_BUSINESS);
/** Business k: the seeded demo business first, then businesses set up as an admin would. */
const businessOrg = (k: number) => (k === 0 ? "org_demo_northside_plumbing" : `org_cluster_burst_${k}`);
const businessNumber = (k: number) => (k === 0 ? "+15125550100" : `+1512555${String(150 + k).padStart(4, "0")}`);

type Callback = Record<string, string>;
interface PlacedCall {
  callSid: string;
  callbacks: Callback[];
}

/** A call's status callbacks as Twilio may deliver them: some twice, some out of order. */
function callbacksOf(from: string, index: number): PlacedCall {
  const to = businessNumber(index % BUSINESSES);
  const callSid = `CA${randomBytes(16).toString("hex")}`;
  const status = (CallStatus: string, extra: Callback = {}): Callback => ({
    AccountSid: TWILIO_SANDBOX_ACCOUNT_SID,
    CallSid: callSid,
    From: from,
    To: to,
    Direction: "inbound",
    CallStatus,
    ...extra,
  });
  const final = status("no-answer", { CallDuration: "0" });
  const callbacks = [final];
  if (index % 3 === 0) callbacks.push(final); // Twilio's retry of the same callback
  if (index % 4 === 1) callbacks.push(status("in-progress")); // an earlier status arriving after the end
  if (index % 4 === 2) callbacks.unshift(status("ringing"));
  return { callSid, callbacks };
}

const postCallback = async (url: string, params: Callback): Promise<number> => {
  const response = await postTwilioWebhook(`${url}/webhooks/twilio/voice`, params, {
    // Twilio gives up on a webhook after 15 s and delivers it again (its default connection overrides).
    signal: AbortSignal.timeout(15_000),
  }).catch(() => null);
  if (!response) return 0;
  await response.arrayBuffer();
  return response.status;
};

describe("several API processes", () => {
  it("refuses API_PROCESSES over 1 without DATABASE_URL, saying why", async () => {
    const started = startProduct({ env: { API_PROCESSES: "2", DATABASE_URL: "" } });
    await expect(started).rejects.toThrow(/API_PROCESSES=2 \(2 processes\) needs DATABASE_URL/);
  });
});

describe.each(testLanes().filter((lane) => lane === "postgres"))("GET /metrics of a cluster (%s)", (lane) => {
  let scratch: ScratchDatabase | undefined;
  let product: Product | undefined;
  afterAll(async () => {
    await product?.stop("SIGKILL").catch(() => {});
    await scratch?.dispose();
  });

  it("counts the requests of every worker in every scrape, whichever worker answers it", async () => {
    scratch = await bareDatabase(lane);
    await migrate(scratch.database);
    product = await startProduct({
      dataDir: mkdtempSync(join(tmpdir(), "callflow-cluster-metrics-")),
      port: await freePort(),
      env: { DATABASE_URL: scratch.url as string, DATABASE_POOL_SIZE: "4", API_PROCESSES: "2" },
    });
    const { url } = product;
    expect(apiWorkerPids(product.pid)).toHaveLength(2);
    // A connection each, all at once: the kernel hands them to both workers.
    const REQUESTS = 80;
    const statuses = await Promise.all(
      Array.from({ length: REQUESTS }, async () => {
        const response = await fetch(`${url}/healthz`, { headers: { connection: "close" } });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    expect(statuses.every((status) => status === 200)).toBe(true);
    const healthzCount = /^callflow_http_requests_total\{[^}]*route="\/healthz"[^}]*\} (\d+)$/m;
    const counts: number[] = [];
    for (let scrape = 0; scrape < 8; scrape++) {
      const response = await fetch(`${url}/metrics`, { headers: { connection: "close" } });
      expect(response.status).toBe(200);
      counts.push(Number(healthzCount.exec(await response.text())?.[1]));
    }
    expect(counts).toEqual(Array(8).fill(REQUESTS));
  });
});

describe.each(testLanes().filter((lane) => lane === "postgres"))("a cluster of API processes (%s)", (lane) => {
  let scratch: ScratchDatabase | undefined;
  let executor: ExecutorProcess | undefined;
  let product: Product | undefined;
  afterAll(async () => {
    await product?.stop("SIGKILL").catch(() => {});
    await executor?.stop();
    await scratch?.dispose();
  });

  it(
    `keeps every answered callback of a ${CALLS}-call burst through a killed worker, each call handled once`,
    async () => {
      scratch = await bareDatabase(lane);
      const { database } = scratch;
      await migrate(database);
      await seedOnce(database);
      const keys = {
        INNGEST_EVENT_KEY: `local-${randomBytes(16).toString("hex")}`,
        INNGEST_SIGNING_KEY: `signkey-test-${randomBytes(32).toString("hex")}`,
      };
      const shared = { DATABASE_URL: scratch.url as string, DATABASE_POOL_SIZE: "8", ...keys };
      executor = await startExecutorProcess(shared);
      product = await startProduct({
        dataDir: mkdtempSync(join(tmpdir(), "callflow-cluster-")),
        port: await freePort(),
        env: {
          ...shared,
          API_PROCESSES: "2",
          INNGEST_BASE_URL: executor.url,
          // The burst is about the processes, not the senders' pace: no lane waits.
          SENDER_RATES: "whatsapp=1000,long_code=1000",
        },
      });
      const cluster = product;
      const workers = apiWorkerPids(cluster.pid);
      expect(workers).toHaveLength(2);
      // As against Inngest Cloud: the deployment syncs the app (any worker answers; runs go to PUBLIC_URL).
      expect((await fetch(`${cluster.url}/api/inngest`, { method: "PUT" })).status).toBe(200);
      for (let k = 0; k < BUSINESSES; k++) {
        const token = cluster.token(businessOrg(k));
        await cluster.trpc(
          token,
          "settings.update",
          { fallback_window_seconds: 10, quiet_hours: null, cooldown_seconds: 0 },
          "POST",
        );
        if (k === 0) continue;
        await cluster.trpc(token, "phoneNumbers.add", { e164: businessNumber(k), label: "Main line" }, "POST");
        await cluster.trpc(
          token,
          "templates.create",
          {
            name: "Missed call",
            trigger: "missed",
            whatsappContentSid: `HX${createHash("md5").update(`cluster burst ${k}`).digest("hex")}`,
            whatsappVariables: { "1": "{{business_name}}" },
            smsBody: "Hi, this is {{business_name}}. Sorry we missed your call; we will call you back shortly.",
          },
          "POST",
        );
      }
      // Billing has no API to grant a plan: set as the seed sets the demo businesses'.
      await sql`
        insert into public.subscriptions (organization_id, plan, status, current_period_start, current_period_end)
        select id, 'growth', 'active', date_trunc('month', now()), date_trunc('month', now()) + interval '1 month'
          from unnest(${Array.from({ length: BUSINESSES - 1 }, (_, i) => businessOrg(i + 1))}::text[]) as id`.execute(
        database.owner,
      );

      const calls = burstCallers(CALLS).map(callbacksOf);
      const answered = new Set<string>(); // CallSids whose final callback was answered 200
      const unanswered: Callback[] = [];
      // Final callbacks answered 200 while their call/completed was not in the outbox yet.
      const answeredEarly: string[] = [];
      const outboxHas = async (callSid: string) => {
        const { rows } = await sql`select 1 from app.event_outbox where event_id = ${callSid}`.execute(database.owner);
        return rows.length === 1;
      };
      const killed = workers[0] as number;
      let next = 0;
      let killedAt = -1;
      const burstStarted = Date.now();
      const sender = async () => {
        while (next < calls.length) {
          const call = calls[next++] as PlacedCall;
          for (const callback of call.callbacks) {
            const status = await postCallback(cluster.url, callback);
            if (status !== 200) unanswered.push(callback);
            else if (callback.CallStatus === "no-answer") {
              answered.add(call.callSid);
              if (!(await outboxHas(call.callSid))) answeredEarly.push(call.callSid);
            }
          }
          if (killedAt < 0 && answered.size >= CALLS / 2) {
            killedAt = answered.size;
            process.kill(killed, "SIGKILL");
          }
        }
      };
      await Promise.all(Array.from({ length: SENDERS }, sender));
      const burstSeconds = (Date.now() - burstStarted) / 1000;
      expect(killedAt).toBeGreaterThan(0);

      // Every final callback answered 200 had its call/completed in the outbox (sent or not yet)
      // when it was answered: a repeat of one whose worker was killed between recording it and
      // settling its call is not answered as a repeat until it has settled the call itself.
      expect(answeredEarly).toEqual([]);
      const sids = calls.map((call) => call.callSid);
      const { rows: outboxed } = await sql<{ event_id: string }>`
        select event_id from app.event_outbox where event_id = any(${[...answered]})`.execute(database.owner);
      expect(outboxed.map((row) => row.event_id).sort()).toEqual([...answered].sort());

      // Twilio delivers again what was not answered 200; the worker that died has been replaced.
      for (const callback of unanswered) {
        let status = 0;
        for (let attempt = 0; attempt < 20 && status !== 200; attempt++) {
          status = await postCallback(cluster.url, callback);
          if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 500));
        }
        expect(status).toBe(200);
        if (callback.CallStatus === "no-answer") expect(await outboxHas(callback.CallSid as string)).toBe(true);
      }
      const replaced = apiWorkerPids(cluster.pid);
      expect(replaced).toHaveLength(2);
      expect(replaced).not.toContain(killed);

      // One call log per call, however many times and in whatever order its callbacks came.
      const { rows: logs } = await sql<{ call_sid: string; logs: number; status: string }>`
      select call_sid, count(*)::int as logs, min(status) as status from call_logs
       where call_sid = any(${sids}) group by call_sid`.execute(database.owner);
      expect(logs).toHaveLength(CALLS);
      expect(logs.filter((row) => row.logs !== 1 || row.status !== "no-answer")).toEqual([]);

      // Every job reaches a final status.
      const unfinished = async () => {
        const { rows } = await sql<{ jobs: number; open: number }>`
        select count(j.id)::int as jobs,
               count(j.id) filter (where j.status in ('pending', 'scheduled', 'sending'))::int as open
          from call_logs c left join message_jobs j on j.call_log_id = c.id
         where c.call_sid = any(${sids})`.execute(database.owner);
        return rows[0] as { jobs: number; open: number };
      };
      // The executor drives the runs; on 2 busy cores a call takes it up to about half a second.
      const deadline = Date.now() + 60_000 + CALLS * 600;
      let state = await unfinished();
      while ((state.jobs < CALLS || state.open > 0) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        state = await unfinished();
      }
      expect(state, `jobs not final:\n${cluster.output.join("").slice(-3000)}`).toEqual({ jobs: CALLS, open: 0 });
      const finalSeconds = (Date.now() - burstStarted) / 1000;

      // One job per call, at most one message a channel per job; and messages were really sent.
      const { rows: jobsPerCall } = await sql<{ call_sid: string; jobs: number }>`
      select c.call_sid, count(j.id)::int as jobs from call_logs c left join message_jobs j on j.call_log_id = c.id
       where c.call_sid = any(${sids}) group by c.call_sid having count(j.id) <> 1`.execute(database.owner);
      expect(jobsPerCall).toEqual([]);
      const { rows: repeated } = await sql<{ job_id: string; channel: string }>`
      select m.job_id, m.channel from messages m join message_jobs j on j.id = m.job_id
        join call_logs c on c.id = j.call_log_id
       where c.call_sid = any(${sids}) group by m.job_id, m.channel having count(*) > 1`.execute(database.owner);
      expect(repeated).toEqual([]);
      const { rows: outcomes } = await sql<{ status: string; final_channel: string | null; why: string; jobs: number }>`
      select j.status, j.final_channel, left(coalesce(j.final_reason, j.reason), 60) as why, count(*)::int as jobs
        from message_jobs j join call_logs c on c.id = j.call_log_id
       where c.call_sid = any(${sids}) group by 1, 2, 3 order by 4 desc`.execute(database.owner);
      console.log(
        `cluster burst: ${CALLS} calls in ${burstSeconds.toFixed(1)} s, a worker killed after ${killedAt} answered, ` +
          `${unanswered.length} callbacks delivered again; every job final ${finalSeconds.toFixed(1)} s after the burst began; ` +
          `jobs: ${JSON.stringify(outcomes)}`,
      );
      const count = (status: string, channel: string | null) =>
        outcomes
          .filter((row) => row.status === status && row.final_channel === channel)
          .reduce((sum, row) => sum + row.jobs, 0);
      expect(count("delivered", "whatsapp"), JSON.stringify(outcomes)).toBeGreaterThan(0);
      expect(count("delivered", "sms"), JSON.stringify(outcomes)).toBeGreaterThan(0);

      // SIGTERM stops the primary, the workers and the parts it runs; the executor stops on its own signal.
      await cluster.stop("SIGTERM");
      expect(apiWorkerPids(cluster.pid)).toEqual([]);
      product = undefined;
      expect(await executor.stop()).toBe(0);
      executor = undefined;
    },
    180_000 + CALLS * 1_500,
  );
});
