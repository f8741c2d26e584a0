// The process killed in the middle of a burst of calls, then started again on the same
// data: every callback it answered 200 leads to a job that reaches a final status, the
// callbacks it could not answer are delivered again (as Twilio retries) and count once,
// and no caller gets two messages on one channel.
import { afterAll, expect, it } from "vitest";
import { burstCallers, freePort, type Product, startProduct } from "./product.ts";

const ORG = "org_demo_northside_plumbing";
const BUSINESS = "+15125550100";
const CALLS = 60;
const UNFINISHED = ["pending", "scheduled", "sending"];

type CallDetail = {
  job: { status: string } | null;
  messages: Array<{ channel: string; status: string }>;
};

let product: Product | undefined;
afterAll(() => product?.stop());

it("finishes every job of a burst cut by a crash, with one message per channel at most", async () => {
  const port = await freePort();
  // The test reads every call's detail until its job is final: more than a person's rate limit allows.
  const env = { RATE_LIMIT_PER_MINUTE: "100000" };
  product = await startProduct({ port, env });
  const { dataDir } = product;
  const admin = product.token(ORG, "admin");
  await product.trpc(
    admin,
    "settings.update",
    { fallback_window_seconds: 10, quiet_hours: null, cooldown_seconds: 0 },
    "POST",
  );

  // Callers of every sandbox scenario (last digit 0: not on WhatsApp, 1: no receipt, 2: both fail, else delivered).
  const callers = burstCallers(CALLS);
  const answered = new Map<string, string>(); // caller → CallSid answered 200
  const unanswered = new Map<string, string>(); // caller → CallSid to deliver again
  const crashing = product;
  let placed = 0;
  // Ten at a time; the process is killed once half the burst is answered, while calls are in flight.
  const sender = async () => {
    while (placed < callers.length) {
      const from = callers[placed++] as string;
      const callSid = `CA${crypto.randomUUID().replaceAll("-", "")}`;
      const status = await crashing.placeCall(from, BUSINESS, "missed", callSid).then(
        (result) => result.status,
        () => 0,
      );
      (status === 200 ? answered : unanswered).set(from, callSid);
      if (answered.size === CALLS / 2) void crashing.stop("SIGKILL");
    }
  };
  await Promise.all(Array.from({ length: 10 }, sender));
  await crashing.stop("SIGKILL");
  expect(answered.size).toBeGreaterThanOrEqual(CALLS / 2);

  product = await startProduct({ port, dataDir, env });
  const restarted = product;
  // Twilio delivers again what was not answered 200.
  for (const [from, callSid] of unanswered) {
    expect((await restarted.placeCall(from, BUSINESS, "missed", callSid)).status).toBe(200);
  }

  const token = restarted.token(ORG);
  const calls = await restarted.trpc<{ items: Array<{ id: string; call_sid: string }> }>(token, "calls.list", {
    limit: 100,
  });
  const sids = new Set([...answered.values(), ...unanswered.values()]);
  const ours = calls.items.filter((call) => sids.has(call.call_sid));
  // One call log per call, however many times its callback came.
  expect(ours.map((call) => call.call_sid).sort()).toEqual([...sids].sort());

  const details = new Map<string, CallDetail>();
  for (let round = 0; round < 600; round++) {
    for (const call of ours) {
      if (details.has(call.id)) continue;
      const detail = await restarted.trpc<CallDetail>(token, "calls.get", { id: call.id });
      if (detail.job && !UNFINISHED.includes(detail.job.status)) details.set(call.id, detail);
    }
    if (details.size === ours.length) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const stuck = ours.filter((call) => !details.has(call.id)).map((call) => call.call_sid);
  expect(stuck, `jobs not final:\n${restarted.output.join("").slice(-3000)}`).toEqual([]);
  for (const detail of details.values()) {
    const channels = detail.messages.map((message) => message.channel);
    expect(new Set(channels).size).toBe(channels.length);
  }
  // And the burst was really messaged: callers of the delivering scenarios got their message.
  const statuses = [...details.values()].map((detail) => detail.job?.status);
  expect(statuses.filter((status) => status === "delivered").length, JSON.stringify(statuses)).toBeGreaterThan(
    CALLS / 2,
  );
}, 240_000);
