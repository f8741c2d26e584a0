// What a person does in the dashboard, as the browser tests do it: sign in as a demo
// business's admin or member, switch business, open a page from the navigation, and check
// a page with axe (saving its screenshot).
import type { Page } from "playwright-core";
import { expect } from "vitest";
import { screenshot, seriousViolations } from "./chromium.ts";

/** Checks the page with axe and saves its screenshot. */
export async function audit(page: Page, name: string) {
  await page.waitForSelector(".spinner", { state: "detached", timeout: 15_000 }).catch(() => undefined);
  await screenshot(page, name);
  expect(await seriousViolations(page), `axe on ${name}`).toEqual([]);
}

export async function signIn(page: Page, business: string, role: "admin" | "member") {
  const button = page.getByRole("button", { name: `Sign in to ${business} as ${role}` });
  await button.waitFor();
  await button.click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
  await expect.poll(() => page.locator(".business").textContent()).toContain(business);
}

export async function switchBusiness(page: Page) {
  await page.getByRole("button", { name: "Switch business" }).click();
  await page.getByRole("heading", { name: "Sign in to CallFlow" }).waitFor();
}

export async function goTo(page: Page, link: string, heading: string) {
  // The side navigation by its place, not its name: the name is translated too.
  await page.locator("nav.sidenav").getByRole("link", { name: link, exact: false }).click();
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
}
