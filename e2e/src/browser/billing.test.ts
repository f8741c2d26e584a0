// Billing in a real browser (Debian's Chromium), against the product started as `npm start`
// starts it: the dashboard, the API and the Stripe sandbox's hosted pages on their own
// origin. An admin of Rosa's Bakery (Starter, granted without Stripe) buys Growth through
// the local Checkout page and sees it arrive without a reload; the portal opens from
// Manage billing; a canceled Checkout changes nothing; a member reads the page, with a
// declined renewal's grace period, without a single button; axe finds no serious or
// critical violation on it, in English, Spanish and at phone width.

import { STRIPE_SANDBOX_LOCAL_SECRET_KEY } from "@callflow/devstack";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Product, startProduct } from "../product.ts";
import { type Browser, openBrowser } from "./chromium.ts";
import { audit, goTo, signIn, switchBusiness } from "./dashboard-steps.ts";

const ROSAS = "org_demo_rosas_bakery";
const ROSAS_NAME = "Rosa's Bakery";
const NORTHSIDE_NAME = "Northside Plumbing";
// Stripe's webhook → outbox → local executor → sync-subscription takes about a second.
const LIVE_MS = 20_000;

interface BillingStatus {
  plan: { id: string; name: string; quota: number };
  subscription: { status: string; managedBy: "stripe" | "callflow" } | null;
  hasBillingAccount: boolean;
}

/** The sandbox listens on a port of its own (any free one); `npm start` prints where. */
async function stripeSandboxOrigin(product: Product): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const printed = /Stripe sandbox\s+(http\S+)/.exec(product.output.join(""))?.[1];
    if (printed) return new URL(printed).origin;
    if (Date.now() > deadline)
      throw new Error(`the product printed no Stripe sandbox URL:\n${product.output.join("")}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A Stripe test helper on the sandbox's API, with local mode's secret key, as Stripe's test mode offers. */
async function stripeTestHelper(origin: string, path: string, method: "GET" | "POST" = "POST") {
  const response = await fetch(`${origin}${path}`, {
    method,
    headers: { authorization: `Bearer ${STRIPE_SANDBOX_LOCAL_SECRET_KEY}` },
  });
  expect(response.status, `${path}: ${await response.clone().text()}`).toBe(200);
  return (await response.json()) as { id: string; status: string; data?: Array<{ id: string; status: string }> };
}

const loadedAt = (page: Page) => page.evaluate(() => (window as unknown as { loadedAt?: number }).loadedAt);

describe("billing in Chromium", () => {
  let product: Product;
  let browser: Browser;
  let page: Page;
  let stripeOrigin: string;

  beforeAll(async () => {
    product = await startProduct({ env: { RATE_LIMIT_PER_MINUTE: "6000" } });
    stripeOrigin = await stripeSandboxOrigin(product);
    browser = await openBrowser();
    page = browser.page;
    // Every full page load sets this anew: an unchanged value proves nothing reloaded.
    await page.addInitScript(() => {
      (window as unknown as { loadedAt: number }).loadedAt = Date.now();
    });
  });
  afterAll(async () => {
    await browser?.close();
    await product?.stop();
  });

  it("an admin upgrades to Growth through the local Checkout page and sees it arrive without a reload", async () => {
    expect(stripeOrigin).not.toBe(new URL(product.webUrl).origin);
    await page.goto(product.webUrl);
    await signIn(page, ROSAS_NAME, "admin");
    await goTo(page, "Billing", "Billing");
    const plan = page.getByTestId("current-plan");
    await expect.poll(() => plan.textContent()).toBe("Starter · 500 messages a month");
    expect(await page.getByTestId("subscription-status").textContent()).toBe("Active");
    expect(await page.getByTestId("usage").textContent()).toMatch(/^\d+ of 500 messages \(\d+%\)/);
    // Granted without Stripe: no billing account to manage yet.
    expect(await page.getByRole("button", { name: "Manage billing" }).count()).toBe(0);
    expect(await page.locator('[data-plan="growth"] .price').textContent()).toBe("$79 a month");
    await audit(page, "19-billing-admin");

    await page.getByRole("button", { name: "Upgrade to Growth" }).click();
    await page.waitForURL((url) => url.origin === stripeOrigin, { timeout: LIVE_MS });
    await page.getByRole("heading", { name: "Subscribe to CallFlow Growth" }).waitFor();
    await page.getByRole("button", { name: "Subscribe" }).click();

    await page.waitForURL((url) => url.origin === new URL(product.webUrl).origin && url.pathname === "/billing", {
      timeout: LIVE_MS,
    });
    const arrivedAt = await loadedAt(page);
    expect(arrivedAt).toBeTypeOf("number");
    await page.getByTestId("checkout-done").waitFor({ timeout: LIVE_MS });
    expect(await page.getByTestId("checkout-done").textContent()).toBe(
      "You are on the Growth plan now: 2,500 messages a month.",
    );
    expect(await plan.textContent()).toBe("Growth · 2,500 messages a month");
    expect(await page.getByTestId("billing-period").textContent()).toMatch(/Renews on .+\.$/);
    expect(await page.locator('[data-plan="growth"]').textContent()).toContain("Current plan");
    expect(await loadedAt(page)).toBe(arrivedAt);
    // Stripe's ?checkout=success is taken out of the address: a reload does not say it again.
    expect(new URL(page.url()).search).toBe("");
    const status = await product.trpc<BillingStatus>(product.token(ROSAS, "member"), "billing.status");
    expect(status.plan).toEqual({ id: "growth", name: "Growth", quota: 2500 });
    expect(status.subscription?.status).toBe("active");
    expect(status.hasBillingAccount).toBe(true);
    await audit(page, "20-billing-upgraded");
  });

  it("sends a business with a Stripe subscription to the portal to change plan, and the API refuses a second Checkout in words", async () => {
    // Another plan through Checkout would be a second subscription: the page goes to the portal.
    const status = await product.trpc<BillingStatus>(product.token(ROSAS, "admin"), "billing.status");
    expect(status.subscription?.managedBy).toBe("stripe");
    await page.getByRole("button", { name: "Upgrade to Pro" }).click();
    await page.waitForURL((url) => url.origin === stripeOrigin, { timeout: LIVE_MS });
    await page.getByRole("heading", { name: "Current plan: CallFlow Growth" }).waitFor();
    await page.getByRole("link", { name: "Return to the app" }).click();
    await page.getByRole("heading", { level: 1, name: "Billing" }).waitFor();
    expect(await page.getByTestId("stripe-return").textContent()).toContain("Back from the billing portal");
    await expect(
      product.trpc(product.token(ROSAS, "admin"), "billing.createCheckoutSession", { plan: "pro" }, "POST"),
    ).rejects.toThrow("this business already has the Growth plan: change plan in Manage billing");
  });

  it("changes nothing when Checkout is canceled, and speaks Spanish", async () => {
    await switchBusiness(page);
    await signIn(page, NORTHSIDE_NAME, "admin");
    await goTo(page, "Billing", "Billing");
    await expect.poll(() => page.getByTestId("current-plan").textContent()).toBe("Growth · 2,500 messages a month");
    expect(await page.getByTestId("subscription-status").textContent()).toBe("Trial");
    expect(await page.getByTestId("billing-period").textContent()).toMatch(/The trial ends on .+\.$/);
    // A trial CallFlow granted becomes the same plan, paid, through Checkout.
    const granted = await product.trpc<BillingStatus>(
      product.token("org_demo_northside_plumbing", "admin"),
      "billing.status",
    );
    expect(granted.subscription?.managedBy).toBe("callflow");
    expect(await page.getByRole("button", { name: "Subscribe to Growth" }).count()).toBe(1);
    expect(await page.getByRole("button", { name: "Choose Starter" }).count()).toBe(1);
    await page.getByRole("button", { name: "Upgrade to Pro" }).click();
    await page.waitForURL((url) => url.origin === stripeOrigin, { timeout: LIVE_MS });
    await page.getByRole("link", { name: "Cancel and go back" }).click();
    await page.getByTestId("stripe-return").getByText("Checkout was canceled: nothing changed.").waitFor();
    expect(await page.getByTestId("current-plan").textContent()).toBe("Growth · 2,500 messages a month");

    await page.getByLabel("Language").selectOption("es");
    await page.getByRole("heading", { level: 1, name: "Facturación" }).waitFor();
    expect(await page.getByTestId("current-plan").textContent()).toBe("Growth · 2500 mensajes al mes");
    expect(await page.getByRole("button", { name: "Mejorar a Pro" }).count()).toBe(1);
    expect(await page.locator("nav.sidenav").textContent()).toContain("Facturación");
    await audit(page, "21-billing-spanish");
    await page.getByLabel("Idioma").selectOption("en");
    await page.getByRole("heading", { level: 1, name: "Billing" }).waitFor();
  });

  it("lets a member read billing with no button to change it, a failed renewal's grace period included", async () => {
    // Rosa's Bakery's renewal payment is declined: past due, messages go on for a grace period.
    const subscriptions = await stripeTestHelper(stripeOrigin, "/v1/subscriptions", "GET");
    expect(subscriptions.data).toHaveLength(1);
    const failed = await stripeTestHelper(
      stripeOrigin,
      `/v1/test_helpers/subscriptions/${subscriptions.data?.[0]?.id}/fail_renewal`,
    );
    expect(failed.status).toBe("past_due");
    await expect
      .poll(
        async () => (await product.trpc<BillingStatus>(product.token(ROSAS), "billing.status")).subscription?.status,
        {
          timeout: LIVE_MS,
        },
      )
      .toBe("past_due");

    await switchBusiness(page);
    await signIn(page, ROSAS_NAME, "member");
    await goTo(page, "Billing", "Billing");
    await expect.poll(() => page.getByTestId("current-plan").textContent()).toBe("Growth · 2,500 messages a month");
    expect(await page.getByTestId("subscription-status").textContent()).toBe("Payment past due");
    expect(await page.getByTestId("sending-grace").textContent()).toMatch(
      /^The latest payment failed\. Messages keep going until .+: ask an admin to update the card before then\.$/,
    );
    expect(await page.getByTestId("billing-read-only").textContent()).toContain("An admin of this business");
    expect(await page.locator("main").getByRole("button").count()).toBe(0);
    expect(await page.locator(".plan").count()).toBe(4);
    // And the API refuses a member who tries anyway, from this very page.
    const refused = await page.evaluate(async (orgId) => {
      const signIn = await fetch("/dev/sign-in", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ orgId, role: "member" }),
      });
      const { token } = (await signIn.json()) as { token: string };
      const tries = ["billing.createCheckoutSession", "billing.createPortalSession"].map((path) =>
        fetch(`/trpc/${path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ plan: "pro" }),
        }).then((response) => response.status),
      );
      return Promise.all(tries);
    }, ROSAS);
    expect(refused).toEqual([403, 403]);
    await audit(page, "22-billing-member");
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByTestId("current-plan").waitFor();
    // At phone width nothing is wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await audit(page, "23-billing-phone-width");
  });
});
