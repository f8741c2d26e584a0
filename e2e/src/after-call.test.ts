// End to end over HTTP: a signed voice webhook → the dev executor → the functions → the
// Twilio sandbox → signed status callbacks → the job's final status, read through tRPC.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Product, startProduct } from "./product.ts";

const ORG = "org_demo_northside_plumbing";
const BUSINESS = "+15125550100";

interface CallDetail {
  job: { status: string; final_channel: string | null; final_reason: string | null } | null;
  messages: Array<{ channel: string; status: string; provider_sid: string | null }>;
}

async function finalJob(product: Product, token: string, callSid: string, timeoutMs = 60_000): Promise<CallDetail> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const calls = await product.trpc<{ items: Array<{ id: string; call_sid: string }> }>(token, "calls.list", {
      limit: 20,
    });
    const call = calls.items.find((item) => item.call_sid === callSid);
    if (call) {
      const detail = await product.trpc<CallDetail>(token, "calls.get", { id: call.id });
      if (detail.job && ["delivered", "failed", "skipped"].includes(detail.job.status)) return detail;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(
    `call ${callSid} did not reach a final status in ${timeoutMs} ms:\n${product.output.join("").slice(-3000)}`,
  );
}

const caller = (lastDigit: number) =>
  `+1737555${String(Math.floor(Math.random() * 1000)).padStart(3, "0")}${lastDigit}`;

describe("the product, end to end", () => {
  let product: Product;
  let admin: string;
  beforeAll(async () => {
    product = await startProduct();
    admin = product.token(ORG, "admin");
    // Short fallback window; no quiet hours or cooldown, so the test passes at any hour.
    await product.trpc(
      admin,
      "settings.update",
      { fallback_window_seconds: 10, quiet_hours: null, cooldown_seconds: 0 },
      "POST",
    );
  });
  afterAll(() => product?.stop());

  it("delivers on WhatsApp", async () => {
    const { callSid, status } = await product.placeCall(caller(7), BUSINESS);
    expect(status).toBe(200);
    const detail = await finalJob(product, admin, callSid);
    expect(detail.job).toMatchObject({ status: "delivered", final_channel: "whatsapp" });
    // Delivered ends the job; the "read" receipt may come a moment later.
    expect(detail.messages.map((m) => m.channel)).toEqual(["whatsapp"]);
    expect(["delivered", "read"]).toContain(detail.messages[0]?.status);
  });

  it("sends SMS at once to a number not on WhatsApp", async () => {
    const { callSid } = await product.placeCall(caller(0), BUSINESS);
    const detail = await finalJob(product, admin, callSid);
    expect(detail.job).toMatchObject({ status: "delivered", final_channel: "sms" });
    expect(detail.messages.map((m) => [m.channel, m.status])).toEqual([
      ["whatsapp", "failed"],
      ["sms", "delivered"],
    ]);
  });

  it("falls back to SMS when WhatsApp sends no receipt within the window", async () => {
    const { callSid } = await product.placeCall(caller(1), BUSINESS);
    const detail = await finalJob(product, admin, callSid);
    expect(detail.job).toMatchObject({ status: "delivered", final_channel: "sms" });
    expect(detail.messages.map((m) => [m.channel, m.status])).toEqual([
      ["whatsapp", "sent"],
      ["sms", "delivered"],
    ]);
  });

  it("fails the job when both channels fail", async () => {
    const { callSid } = await product.placeCall(caller(2), BUSINESS);
    const detail = await finalJob(product, admin, callSid);
    expect(detail.job?.status).toBe("failed");
    expect(detail.job?.final_reason).toMatch(/63016.*30003/);
    expect(detail.messages.map((m) => [m.channel, m.status])).toEqual([
      ["whatsapp", "failed"],
      ["sms", "undelivered"],
    ]);
  });
});
