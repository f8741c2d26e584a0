import { describe, expect, it } from "vitest";
import { isKnownNotOnWhatsApp, NOT_ON_WHATSAPP_MARK_DAYS } from "./whatsapp-reachability.ts";

const NOW = new Date("2026-12-02T12:00:00Z");
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000);

describe("isKnownNotOnWhatsApp", () => {
  it.each<[string, Parameters<typeof isKnownNotOnWhatsApp>[0], boolean]>([
    ["marked today", { whatsappStatus: "unavailable", whatsappCheckedAt: daysAgo(0) }, true],
    ["marked a day before the mark expires", { whatsappStatus: "unavailable", whatsappCheckedAt: daysAgo(29) }, true],
    ["marked as long ago as the mark lasts", { whatsappStatus: "unavailable", whatsappCheckedAt: daysAgo(30) }, false],
    ["marked long ago", { whatsappStatus: "unavailable", whatsappCheckedAt: daysAgo(400) }, false],
    ["marked without a date", { whatsappStatus: "unavailable", whatsappCheckedAt: null }, false],
    ["on WhatsApp", { whatsappStatus: "available", whatsappCheckedAt: daysAgo(1) }, false],
    ["never tried", { whatsappStatus: "unknown", whatsappCheckedAt: null }, false],
  ])("%s → %s", (_, contact, expected) => {
    expect(isKnownNotOnWhatsApp(contact, NOW)).toBe(expected);
  });

  it("lasts 30 days", () => {
    expect(NOT_ON_WHATSAPP_MARK_DAYS).toBe(30);
  });
});
