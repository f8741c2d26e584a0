// A run that is waiting survives the process: kill the API and executor mid-wait, start
// them again on the same data, and the run finishes with exactly one SMS.
import { afterAll, expect, it } from "vitest";
import { freePort, type Product, startProduct } from "./product.ts";

const ORG = "org_demo_northside_plumbing";
const BUSINESS = "+15125550100";

let product: Product | undefined;
afterAll(() => product?.stop());

it("completes a waiting run after a crash and restart, sending one SMS", async () => {
  const port = await freePort();
  product = await startProduct({ port });
  const { dataDir } = product;
  const admin = product.token(ORG, "admin");
  await product.trpc(
    admin,
    "settings.update",
    { fallback_window_seconds: 10, quiet_hours: null, cooldown_seconds: 0 },
    "POST",
  );

  // Ends in 1: WhatsApp is accepted but never reports delivery, so the run waits 10 s.
  const from = `+1737555${String(Math.floor(Math.random() * 1000)).padStart(3, "0")}1`;
  const { callSid } = await product.placeCall(from, BUSINESS);
  let callId: string | undefined;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const calls = await product.trpc<{ items: Array<{ id: string; call_sid: string }> }>(admin, "calls.list", {
      limit: 5,
    });
    callId = calls.items.find((call) => call.call_sid === callSid)?.id;
    if (callId) {
      const detail = await product.trpc<{ messages: Array<{ channel: string; status: string }> }>(admin, "calls.get", {
        id: callId,
      });
      if (detail.messages.some((m) => m.channel === "whatsapp" && m.status === "sent")) break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(callId).toBeDefined();

  await product.stop("SIGKILL");
  product = await startProduct({ port, dataDir });

  const restarted = product;
  const finished = async () => {
    for (let i = 0; i < 300; i++) {
      const detail = await restarted.trpc<{
        job: { status: string; final_channel: string | null } | null;
        messages: Array<{ channel: string; status: string }>;
      }>(restarted.token(ORG), "calls.get", { id: callId });
      if (detail.job && ["delivered", "failed"].includes(detail.job.status)) return detail;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`the run did not finish after the restart:\n${restarted.output.join("").slice(-3000)}`);
  };
  const detail = await finished();
  expect(detail.job).toMatchObject({ status: "delivered", final_channel: "sms" });
  expect(detail.messages.map((m) => [m.channel, m.status])).toEqual([
    ["whatsapp", "sent"],
    ["sms", "delivered"],
  ]);
});
