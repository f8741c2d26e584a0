// The stack-level fuzzer: the whole HTTP surface (every webhook, /api/inngest, every tRPC
// procedure, single and batched) over real HTTP against the app as the composition root
// builds it, with thousands of seeded random and mutated requests. Nothing may answer 5xx,
// the process must stay up, and nothing may be half-written. A failure names its seed and
// index: FUZZ_SEED=<seed> replays the run; FUZZ_REQUESTS sets its length.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { insertTwoOrgFixture, migratedDatabase, ORG_A, ORG_B } from "@callflow/db/testing";
import { startTwilioSandbox } from "@callflow/devstack";
import { createFunctions, createInngestClient } from "@callflow/inngest";
import { createTwilioMessaging, createTwilioNumbers, statusCallbackUrls } from "@callflow/providers";
import { serve } from "@hono/node-server";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chooseAuth } from "../auth/auth-mode.ts";
import { createApp } from "../http/app.ts";
import { createLog, inngestLoggerOf } from "../log.ts";
import { EXAMPLES, procedures } from "../trpc/procedure-examples.ts";
import { fuzzEnv } from "./env.ts";
import { type FuzzTargets, fuzzRequest, seededRandom } from "./fuzz-requests.ts";

const SEED = fuzzEnv.FUZZ_SEED;
const REQUESTS = fuzzEnv.FUZZ_REQUESTS;
const CONCURRENCY = 8;
const PUBLIC_URL = "https://hooks.callflow.test";
const TWILIO_TOKEN = "fuzz-twilio-auth-token";
const ACCOUNT_SID = `AC${"f".repeat(32)}`;
const CLERK_SECRET = `whsec_${Buffer.from("callflow-fuzz-clerk-secret").toString("base64")}`;
const SIGNING_KEY = `signkey-test-${randomBytes(32).toString("hex")}`;
const WEB = "http://localhost:5173";

describe(`the whole HTTP surface under ${REQUESTS} fuzzed requests (seed ${SEED})`, () => {
  let targets: FuzzTargets;
  let stop: () => Promise<void>;
  let database: Awaited<ReturnType<typeof migratedDatabase>>["database"];
  const failures: string[] = [];
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    const scratch = await migratedDatabase("pglite");
    database = scratch.database;
    const ids = await insertTwoOrgFixture(database);
    const sandbox = await startTwilioSandbox({
      accountSid: ACCOUNT_SID,
      authToken: TWILIO_TOKEN,
      timing: { sentAfterMs: 5, deliveredAfterMs: 10 },
    });
    const twilioAccount = { accountSid: ACCOUNT_SID, authToken: TWILIO_TOKEN, baseUrl: sandbox.url };
    // Inngest's API answers and forgets: runs are driven by the fuzzer's own signed requests.
    const inngestApi = createServer((request, response) => {
      request.resume();
      request.on("end", () =>
        response
          .writeHead(200, { "content-type": "application/json" })
          .end('{"ids":[],"status":200,"ok":true,"modified":false}'),
      );
    });
    await new Promise<void>((resolve) => inngestApi.listen(0, "127.0.0.1", resolve));
    const inngest = createInngestClient({
      eventKey: "fuzz",
      signingKey: SIGNING_KEY,
      baseUrl: `http://127.0.0.1:${(inngestApi.address() as AddressInfo).port}`,
      isDev: false,
      logger: inngestLoggerOf(createLog("silent")),
    });
    const functions = createFunctions(inngest, {
      database,
      messaging: createTwilioMessaging(twilioAccount),
      statusCallbacks: statusCallbackUrls({ publicUrl: PUBLIC_URL, authToken: TWILIO_TOKEN }),
    });
    const dataDir = mkdtempSync(join(tmpdir(), "callflow-fuzz-"));
    const { verifySession, devIssuer } = chooseAuth({ dataDir, authorizedParties: [WEB] });
    const app = createApp({
      database,
      verifySession,
      log: createLog("silent"),
      webOrigins: [WEB],
      rateLimitPerMinute: 1_000_000,
      anonymousRateLimitPerMinute: 1_000_000,
      maxBodyBytes: 64 * 1024,
      maxBatchSize: 10,
      clerkWebhookSecret: CLERK_SECRET,
      twilio: { authToken: TWILIO_TOKEN, publicUrl: PUBLIC_URL },
      inngest: { client: inngest, functions, serveOrigin: PUBLIC_URL, signed: true },
      phoneNumberDirectory: createTwilioNumbers({ ...twilioAccount, publicUrl: PUBLIC_URL }),
    });
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    const issue = (orgId: string | null, role: "admin" | "member") =>
      devIssuer?.issue({ orgId, role, authorizedParty: WEB }) ?? "";
    const a = ids[ORG_A] as FuzzTargets["ids"];
    targets = {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      publicUrl: PUBLIC_URL,
      twilioAuthToken: TWILIO_TOKEN,
      clerkSecret: CLERK_SECRET,
      inngestSigningKey: SIGNING_KEY,
      tokens: [issue(ORG_A, "admin"), issue(ORG_A, "member"), issue(ORG_B, "admin"), issue(null, "admin")],
      ids: a,
      businessNumber: "+15550100001",
      procedures: procedures.map((p) => ({ path: p.path, type: p.type, example: EXAMPLES[p.path]?.(a) })),
    };
    stop = async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sandbox.stop();
      inngestApi.close();
      await scratch.dispose();
    };
  }, 120_000);
  afterAll(() => stop?.());

  it("answers every request below 500", { timeout: 15 * 60_000 }, async () => {
    const random = seededRandom(SEED);
    // Requests are made in order from one generator (so the seed replays them); sent 8 at a time.
    const requests = Array.from({ length: REQUESTS }, (_, index) => ({
      index,
      ...fuzzRequest(random, targets, index),
    }));
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let request = requests[next++]; request; request = requests[next++]) {
          let status: number;
          let debugBody = "";
          try {
            const response = await fetch(request.url, { ...request.init, signal: AbortSignal.timeout(30_000) });
            debugBody = (await response.text()).slice(0, 300);
            status = response.status;
          } catch (error) {
            status = 0;
            failures.push(`#${request.index} no answer (${(error as Error).message}): ${request.describe}`);
          }
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status >= 500) failures.push(`#${request.index} ${status}: ${request.describe} → ${debugBody}`);
        }
      }),
    );
    expect(failures.slice(0, 20), `seed ${SEED}; statuses ${JSON.stringify([...statuses])}`).toEqual([]);
    // It reached the code behind the checks, not only the refusals in front of them.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(REQUESTS / 10);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(REQUESTS / 20);
  });

  it("is still up and ready afterwards", async () => {
    expect((await fetch(`${targets.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${targets.url}/readyz`)).status).toBe(200);
  });

  it("left nothing half-written", async () => {
    const broken = await sql<{ what: string; n: number }>`
      select 'a voice receipt without its call log' as what, count(*)::int as n
        from public.webhook_receipts r
       where r.kind = 'voice.status' and r.organization_id is not null
         and not exists (select 1 from public.call_logs c where c.call_sid = split_part(r.external_id, ':', 1))
      union all
      select 'a message status receipt without its event', count(*)::int
        from public.webhook_receipts r
       where r.kind = 'message.status' and r.organization_id is not null
         and not exists (select 1 from public.message_events e
                          where e.provider_sid = split_part(r.external_id, ':', 1)
                            and e.status = substr(r.external_id, length(split_part(r.external_id, ':', 1)) + 2))
      union all
      select 'a contact whose consent state is not its latest ledger entry', count(*)::int
        from public.contacts c
        left join lateral (select e.action from public.consent_events e
                            where e.organization_id = c.organization_id and e.contact_id = c.id
                            order by e.at desc, e.id desc limit 1) latest on true
       where coalesce(latest.action = 'opt_out', false) <> (c.opted_out_at is not null)
      union all
      select 'a call log of one org for another org''s number', count(*)::int
        from public.call_logs c join public.phone_numbers p on p.e164 = c.to_number
       where p.organization_id <> c.organization_id`.execute(database.owner);
    expect(broken.rows.filter((row) => row.n > 0).map((row) => `${row.what}: ${row.n}`)).toEqual([]);
  });
});
