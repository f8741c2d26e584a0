import { describe, expect, it } from "vitest";
import { defaultSenderRates, deliveryThrottleKey, senderKindOf, senderRatesSchema } from "./sender-pace.ts";

describe("senderKindOf", () => {
  it.each<[string, "whatsapp" | "sms", string, string]>([
    ["any WhatsApp sender", "whatsapp", "+15125550100", "whatsapp"],
    ["an ordinary US number", "sms", "+15125550100", "long_code"],
    ["a Spanish number", "sms", "+34911230100", "long_code"],
    ["an 800 number", "sms", "+18005550100", "toll_free"],
    ["an 833 number", "sms", "+18335550100", "toll_free"],
    ["an 888 number", "sms", "+18885550100", "toll_free"],
    ["an 809 number (not toll-free)", "sms", "+18095550100", "long_code"],
    ["a five-digit short code", "sms", "12345", "short_code"],
    ["a six-digit short code", "sms", "123456", "short_code"],
  ])("%s", (_, channel, from, kind) => {
    expect(senderKindOf(channel, from)).toBe(kind);
  });
});

describe("deliveryThrottleKey", () => {
  const jobs = Array.from({ length: 2000 }, (_, n) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`);
  const lanesOf = (channel: "whatsapp" | "sms", from: string, rates = {}) =>
    new Set(jobs.map((jobId) => deliveryThrottleKey({ channel, from, jobId }, rates)));

  it("gives a sender as many lanes as messages a second it may send", () => {
    expect(lanesOf("sms", "+15125550100").size).toBe(defaultSenderRates.long_code);
    expect(lanesOf("sms", "+18005550100").size).toBe(defaultSenderRates.toll_free);
    expect(lanesOf("whatsapp", "+15125550100").size).toBe(defaultSenderRates.whatsapp);
    expect(lanesOf("sms", "12345").size).toBe(defaultSenderRates.short_code);
    expect(lanesOf("whatsapp", "+15125550100", { whatsapp: 2 }).size).toBe(2);
  });

  it("keeps senders apart, and one job in one lane", () => {
    const key = (from: string) => deliveryThrottleKey({ channel: "sms", from, jobId: jobs[7] as string });
    expect(key("+15125550100")).toBe("long_code:+15125550100:0");
    expect(key("+15125550101")).toBe("long_code:+15125550101:0");
    const whatsapp = deliveryThrottleKey({ channel: "whatsapp", from: "whatsapp:+15125550100", jobId: "job-1" });
    expect(whatsapp).toMatch(/^whatsapp:\+15125550100:\d+$/);
    expect(deliveryThrottleKey({ channel: "whatsapp", from: "+15125550100", jobId: "job-1" })).toBe(whatsapp);
  });

  it("spreads jobs over the lanes", () => {
    const counts = new Map<string, number>();
    for (const jobId of jobs) {
      const key = deliveryThrottleKey({ channel: "whatsapp", from: "+15125550100", jobId });
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    // 25 a lane on average; none empty, none more than twice its share.
    expect(Math.min(...counts.values())).toBeGreaterThan(0);
    expect(Math.max(...counts.values())).toBeLessThan(50);
  });
});

describe("senderRatesSchema", () => {
  it("takes whole messages a second per kind, and refuses anything else", () => {
    expect(senderRatesSchema.parse({ long_code: 2 })).toEqual({ long_code: 2 });
    expect(senderRatesSchema.safeParse({ long_code: 0.5 }).success).toBe(false);
    expect(senderRatesSchema.safeParse({ long_code: 0 }).success).toBe(false);
    expect(senderRatesSchema.safeParse({ fax: 1 }).success).toBe(false);
  });
});
