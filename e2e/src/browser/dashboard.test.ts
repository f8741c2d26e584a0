// The dashboard in a real browser (Debian's Chromium), against the product started as
// `npm start` starts it: the API's process also serving the built dashboard on WEB_PORT.
// One browser, one story: an admin watches calls arrive and reach their end live; a member
// cannot change settings; the other business never sees these calls; Spanish; and every
// page passes axe with no serious or critical violation, with a screenshot of each.

import { TWILIO_SANDBOX_ACCOUNT_SID } from "@callflow/devstack";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Product, postTwilioWebhook, startProduct } from "../product.ts";
import { type Browser, openBrowser } from "./chromium.ts";
import { audit, goTo, signIn, switchBusiness } from "./dashboard-steps.ts";

const NORTHSIDE = "org_demo_northside_plumbing";
const NORTHSIDE_NAME = "Northside Plumbing";
const ROSAS_NAME = "Rosa's Bakery";
const BUSINESS_NUMBER = "+15125550100";
const LIVE_MS = 20_000;

const caller = (lastDigit: number) =>
  `+1737555${String(Math.floor(Math.random() * 1000)).padStart(3, "0")}${lastDigit}`;

/** A caller's reply, posted as Twilio posts an inbound SMS (signed). */
async function sendReply(product: Product, from: string, to: string, body: string) {
  const webhook = `${product.url}/webhooks/twilio/messages/inbound`;
  const params = {
    MessageSid: `SM${crypto.randomUUID().replaceAll("-", "")}`,
    AccountSid: TWILIO_SANDBOX_ACCOUNT_SID,
    From: from,
    To: to,
    Body: body,
  };
  const response = await postTwilioWebhook(webhook, params);
  expect(response.status).toBe(200);
}

/** The unread count in the navigation; 0 when no badge shows. */
const unreadCount = (page: Page) =>
  page.evaluate(() =>
    Number(document.querySelector('[data-testid="unread-replies"]')?.textContent?.match(/\d+/)?.[0] ?? 0),
  );

describe("the dashboard in Chromium", () => {
  let product: Product;
  let browser: Browser;
  let page: Page;
  const placed: Array<{ callSid: string; from: string }> = [];

  beforeAll(async () => {
    product = await startProduct({ env: { RATE_LIMIT_PER_MINUTE: "6000" } });
    // No quiet hours or cooldown, and a short fallback window, so the test passes at any hour.
    await product.trpc(
      product.token(NORTHSIDE, "admin"),
      "settings.update",
      { fallback_window_seconds: 10, quiet_hours: null, cooldown_seconds: 0 },
      "POST",
    );
    browser = await openBrowser();
    page = browser.page;
    // A full page load sets this to undefined: it proves that updates arrived without a reload.
    await page.addInitScript(() => {
      (window as unknown as { loadedAt: number }).loadedAt = Date.now();
    });
  });
  afterAll(async () => {
    await browser?.close();
    await product?.stop();
  });

  it("lists the demo businesses and signs in as an admin of one", async () => {
    await page.goto(product.webUrl);
    await page.getByRole("heading", { name: "Sign in to CallFlow" }).waitFor();
    // The businesses load after the heading shows: both are listed.
    await page.getByRole("button", { name: `Sign in to ${ROSAS_NAME} as admin` }).waitFor();
    await audit(page, "01-sign-in");
    await signIn(page, NORTHSIDE_NAME, "admin");
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
    await page.locator(".card").first().waitFor();
    expect(await page.locator(".card h3").allTextContents()).toEqual(
      expect.arrayContaining(["Calls", "Callers reached", "Delivered on WhatsApp", "Fell back to SMS", "Failed"]),
    );
    await page.locator(".chart svg").waitFor();
    await audit(page, "02-overview");
  });

  it("shows a new call and its timeline reaching delivered, live, without a reload", async () => {
    await goTo(page, "Calls", "Calls");
    await page.locator("table.data tbody tr").first().waitFor();
    await audit(page, "03-calls");
    const loadedAt = await page.evaluate(() => (window as unknown as { loadedAt: number }).loadedAt);

    const from = caller(7);
    const { callSid, status } = await product.placeCall(from, BUSINESS_NUMBER);
    expect(status).toBe(200);
    placed.push({ callSid, from });
    const row = page.locator("table.data tbody tr", { hasText: from });
    await row.waitFor({ timeout: LIVE_MS });
    await row.getByRole("link").click();
    await page.getByRole("heading", { level: 1, name: "Call timeline" }).waitFor();
    await page.locator('[data-testid="job-outcome"] [data-status="delivered"]').waitFor({ timeout: LIVE_MS });
    expect(await page.locator(".timeline").textContent()).toContain(`Call from ${from}`);
    expect(await page.locator('[data-channel="whatsapp"]').count()).toBe(1);
    expect(await page.evaluate(() => (window as unknown as { loadedAt: number }).loadedAt)).toBe(loadedAt);
    await audit(page, "04-call-timeline-delivered");
  });

  it("shows a WhatsApp→SMS fallback with the WhatsApp error in words", async () => {
    await goTo(page, "Calls", "Calls");
    const from = caller(0);
    const { callSid } = await product.placeCall(from, BUSINESS_NUMBER);
    placed.push({ callSid, from });
    const row = page.locator("table.data tbody tr", { hasText: from });
    await row.waitFor({ timeout: LIVE_MS });
    await row.getByRole("link").click();
    await page.locator('[data-channel="sms"]').waitFor({ timeout: LIVE_MS });
    await page.locator('[data-testid="job-outcome"] [data-status="delivered"]').waitFor({ timeout: LIVE_MS });
    const whatsapp = await page.locator('[data-channel="whatsapp"]').textContent();
    expect(whatsapp).toContain("63024: The number cannot receive WhatsApp messages");
    expect(await page.locator('[data-channel="sms"]').textContent()).toMatch(/SMS/);
    // The caller answers: the reply joins the timeline and the unread count, live.
    const unreadBefore = await unreadCount(page);
    await sendReply(product, from, BUSINESS_NUMBER, "Can you come on Tuesday morning?");
    await page.locator(".step.reply", { hasText: "Can you come on Tuesday morning?" }).waitFor({ timeout: LIVE_MS });
    await expect.poll(() => unreadCount(page), { timeout: LIVE_MS }).toBe(unreadBefore + 1);
    await audit(page, "05-call-timeline-fallback");
  });

  it("speaks Spanish when switched, dates in the business's timezone", async () => {
    await page.getByLabel("Language").selectOption("es");
    await page.getByRole("heading", { level: 1, name: "Historia de la llamada" }).waitFor();
    expect(await page.locator('[data-channel="whatsapp"]').textContent()).toContain(
      "63024: Este número no está en WhatsApp",
    );
    expect(await page.locator("nav").first().textContent()).toContain("Llamadas");
    await audit(page, "06-call-timeline-spanish");
    await goTo(page, "Resumen", "Resumen");
    await audit(page, "07-overview-spanish");
    await page.getByLabel("Idioma").selectOption("en");
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
  });

  it("shows replies, messages, contacts and templates", async () => {
    await goTo(page, "Replies", "Replies");
    const reply = page.locator(".replies > li", { hasText: "Can you come on Tuesday morning?" });
    await reply.waitFor();
    expect(await reply.getByRole("link", { name: "Open the call" }).count()).toBe(1);
    await audit(page, "08-replies");
    const unread = await unreadCount(page);
    await reply.getByRole("button", { name: "Mark as read" }).click();
    await reply.getByRole("button", { name: "Mark as unread" }).waitFor();
    await expect.poll(() => unreadCount(page)).toBe(unread - 1);
    await goTo(page, "Messages", "Messages");
    await page.locator("table.data tbody tr").first().waitFor();
    await audit(page, "09-messages");
    await goTo(page, "Contacts", "Contacts");
    await page.locator("table.data tbody tr").first().waitFor();
    await audit(page, "10-contacts");
    await page.locator("table.data tbody tr").first().getByRole("link").click();
    await page.getByRole("heading", { level: 1, name: "Contact" }).waitFor();
    await page.getByRole("heading", { name: "Consent history" }).waitFor();
    // Staff stop messaging a caller, with a reason the ledger keeps; then back in.
    await page.getByLabel("Why stop messaging this caller?").fill("Asked us on the phone to stop");
    await page.getByRole("button", { name: "Stop messaging" }).click();
    await expect.poll(() => page.getByTestId("consent-state").textContent()).toMatch(/^Opted out since/);
    await page.locator(".history li", { hasText: "Asked us on the phone to stop" }).waitFor();
    await audit(page, "11-contact");
    await page.getByLabel("Why message this caller again?").fill("Asked again in the shop");
    await page.getByRole("button", { name: "Message again" }).click();
    await expect.poll(() => page.getByTestId("consent-state").textContent()).toBe("Receives messages");
    await goTo(page, "Templates", "Templates");
    await page.locator('[data-testid="segments"]').first().waitFor();
    expect(await page.locator('[data-testid="segments"]').first().textContent()).toMatch(/\d+ SMS segment/);
    await audit(page, "12-templates");
    await goTo(page, "Settings", "Settings");
    await page.getByRole("button", { name: "Save changes" }).waitFor();
    await audit(page, "13-settings-admin");
  });

  it("lets a member read settings but not change them", async () => {
    await switchBusiness(page);
    await signIn(page, NORTHSIDE_NAME, "member");
    await goTo(page, "Settings", "Settings");
    await page.getByTestId("read-only-note").waitFor();
    expect(await page.getByRole("button", { name: "Save changes" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Add number" }).count()).toBe(0);
    expect(await page.getByLabel("Timezone").isDisabled()).toBe(true);
    expect(await page.getByLabel("Monday").isDisabled()).toBe(true);
    // And the API says no to a member who tries anyway, from this very page.
    const status = await page.evaluate(async (orgId) => {
      const signIn = await fetch("/dev/sign-in", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ orgId, role: "member" }),
      });
      const { token } = (await signIn.json()) as { token: string };
      const update = await fetch("/trpc/settings.update", {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ cooldown_seconds: 60 }),
      });
      return update.status;
    }, NORTHSIDE);
    expect(status).toBe(403);
    await audit(page, "14-settings-member");
  });

  it("never shows these calls to the other business", async () => {
    await switchBusiness(page);
    await signIn(page, ROSAS_NAME, "admin");
    await goTo(page, "Calls", "Calls");
    await page.locator("table.data tbody tr").first().waitFor();
    const table = await page.locator("table.data").textContent();
    for (const call of placed) expect(table).not.toContain(call.from);
    // Not even by address: the timeline of Northside's call is not found for Rosa's Bakery.
    const northsideCalls = await product.trpc<{ items: Array<{ id: string; call_sid: string }> }>(
      product.token(NORTHSIDE, "admin"),
      "calls.list",
      { limit: 20 },
    );
    const theirs = northsideCalls.items.find((call) => call.call_sid === placed[0]?.callSid);
    expect(theirs).toBeDefined();
    await page.goto(`${product.webUrl}/calls/${theirs?.id}`);
    await page.getByRole("alert").waitFor();
    expect(await page.getByRole("alert").textContent()).toContain("call not found");
    await page.setViewportSize({ width: 390, height: 844 });
    await goTo(page, "Overview", "Overview");
    await audit(page, "15-overview-phone-width");
  });

  it("renews its minute-long session token before it expires", async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    // The page's clock runs ahead on demand; the server's does not, so only an early renewal keeps it working.
    await page.clock.install();
    await page.goto(`${product.webUrl}/calls`);
    await page.locator("table.data tbody tr").first().waitFor();
    const renewals: number[] = [];
    const refused: string[] = [];
    page.on("response", (response) => {
      if (response.request().method() === "POST" && response.url().endsWith("/dev/sign-in")) {
        renewals.push(response.status());
      }
      if (response.url().includes("/trpc/") && response.status() === 401) refused.push(response.url());
    });
    await page.clock.fastForward("00:50");
    await expect.poll(() => renewals.length, { timeout: 10_000 }).toBe(1);
    await page.clock.fastForward("00:50");
    await expect.poll(() => renewals.length, { timeout: 10_000 }).toBe(2);
    expect(renewals).toEqual([200, 200]);
    expect(refused).toEqual([]);
    expect(await page.getByRole("alert").count()).toBe(0);
  });

  it("guides a new business through its first steps, with empty states and the API's errors as they come", async () => {
    // A business's first request creates it (as with Clerk); it is named after its slug.
    await product.trpc(product.token("org_e2e_new_shop", "admin"), "settings.get");
    const fresh = await browser.context.newPage();
    await fresh.goto(product.webUrl);
    await switchBusiness(fresh);
    await signIn(fresh, "e2e-new-shop", "admin");
    const checklist = fresh.locator(".checklist");
    await checklist.waitFor();
    expect(await checklist.getByRole("link").allTextContents()).toEqual([
      "Connect a phone number",
      "Set your timezone and business hours",
      "Check your message templates",
      "Make a test call",
    ]);
    expect(await checklist.locator("li.done").count()).toBe(0);
    await audit(fresh, "16-first-run");
    await goTo(fresh, "Calls", "Calls");
    await fresh.getByText("No calls match").waitFor();
    await audit(fresh, "17-calls-empty");

    await goTo(fresh, "Overview", "Overview");
    await checklist.getByRole("link", { name: "Connect a phone number" }).click();
    await fresh.getByRole("heading", { level: 1, name: "Settings" }).waitFor();
    await fresh.getByText("No phone number connected").waitFor();
    // A number another business has: the dashboard shows the API's own message.
    const expected = await product
      .trpc(product.token("org_e2e_new_shop", "admin"), "phoneNumbers.add", { e164: "+34911230100" }, "POST")
      .then(
        () => "added",
        (error: Error) => error.message.replace(/^phoneNumbers\.add: /, ""),
      );
    expect(expected).not.toBe("added");
    await fresh.getByLabel("Number (international format)").fill("+34911230100");
    await fresh.getByRole("button", { name: "Add number" }).click();
    await fresh.locator(".field-error", { hasText: expected }).waitFor();

    await fresh.getByLabel("Timezone").selectOption("Europe/London");
    await fresh.getByLabel("Saturday").fill("10:00-14:00");
    // Where calls ring: a number without its country code is refused with the API's reason.
    await fresh.getByLabel("Ring this phone first (international format)").fill("512 555 0177");
    await fresh.getByRole("button", { name: "Save changes" }).click();
    await fresh.getByRole("alert").filter({ hasText: "has no country code" }).waitFor();
    await fresh.getByLabel("Ring this phone first (international format)").fill("+1 512 555 0177");
    await fresh.getByLabel("Ring it for (seconds)").fill("15");
    await fresh.getByLabel("Voicemail greeting").fill("You reached the new shop. Leave a message after the tone.");
    await fresh.getByLabel("Language of the voice callers hear").selectOption("es-MX");
    await fresh.getByRole("button", { name: "Save changes" }).click();
    await fresh.getByText("Saved.").waitFor();
    await audit(fresh, "18-settings-saved");
    const saved = await product.trpc<Record<string, unknown> & { business_hours: Record<string, string[][]> }>(
      product.token("org_e2e_new_shop", "admin"),
      "settings.get",
    );
    expect(saved.timezone).toBe("Europe/London");
    expect(saved.business_hours.sat).toEqual([["10:00", "14:00"]]);
    expect(saved).toMatchObject({
      forward_to: "+15125550177",
      forward_timeout_seconds: 15,
      voicemail_enabled: true,
      voicemail_greeting: "You reached the new shop. Leave a message after the tone.",
      voice_language: "es-MX",
    });
    await goTo(fresh, "Overview", "Overview");
    await expect.poll(() => checklist.locator("li.done").count()).toBe(1);
    await fresh.close();
  });
});
