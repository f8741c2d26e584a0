// Benchmark: the dashboard as a person gets it, in Debian's Chromium, from the product
// started as `npm start` starts it (API process serving the built dashboard on WEB_PORT,
// embedded database, local executor, Twilio sandbox), all on this machine.
//
//   1. initial JavaScript: the scripts a first visit loads (read from the browser's own
//      resource list, so lazy chunks such as Clerk's are not counted), gzip -9 sizes;
//   2. navigation → the calls table showing 50 rows: a page load of /calls, signed in
//      (the time is read in the page: performance.now() from navigation start to the
//      moment the 50th row is in the DOM). The first load with an empty cache, then
//      --loads loads with cached assets, as a returning user has;
//   3. status callback → timeline: a call whose WhatsApp message stays "sent" (caller
//      ending in 1), its timeline open; the bench posts a signed "delivered" status
//      callback, as Twilio does, and the page records when "Delivered" appears. Date.now()
//      on both sides: one machine, one clock.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { TWILIO_SANDBOX_AUTH_TOKEN } from "@callflow/devstack";
import { statusCallbackUrls } from "@callflow/providers";
import twilio from "twilio";
import { openBrowser } from "../e2e/src/browser/chromium.ts";
import { type Product, startProduct } from "../e2e/src/product.ts";
import { figure, flags, Latencies, latencyFigures, printMachine, sleep } from "./measure.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const ORG = "org_demo_northside_plumbing";
const BUSINESS_NUMBER = "+15125550100";

const options = flags("dashboard: the dashboard in Chromium", { loads: 20, callbacks: 10 }, { loads: 8, callbacks: 4 });

async function callIdOf(product: Product, token: string, callSid: string): Promise<string> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const calls = await product.trpc<{ items: Array<{ id: string; call_sid: string }> }>(token, "calls.list", {
      limit: 10,
    });
    const call = calls.items.find((item) => item.call_sid === callSid);
    if (call) return call.id;
    await sleep(50);
  }
  throw new Error(`call ${callSid} never appeared`);
}

async function sentWhatsApp(product: Product, token: string, callId: string) {
  for (let attempt = 0; attempt < 400; attempt++) {
    const detail = await product.trpc<{
      messages: Array<{ id: string; channel: string; status: string; provider_sid: string | null }>;
    }>(token, "calls.get", { id: callId });
    const whatsapp = detail.messages.find((message) => message.channel === "whatsapp");
    if (whatsapp?.provider_sid && whatsapp.status === "sent") return { id: whatsapp.id, sid: whatsapp.provider_sid };
    await sleep(50);
  }
  throw new Error(`the WhatsApp message of call ${callId} never reached "sent"`);
}

printMachine("dashboard");
const build = spawnSync(process.execPath, ["scripts/callflow.mjs", "build-dashboard"], { cwd: ROOT, stdio: "inherit" });
if (build.status !== 0) process.exit(1);

const product = await startProduct({ env: { RATE_LIMIT_PER_MINUTE: "100000" } });
const browser = await openBrowser();
try {
  const admin = product.token(ORG, "admin");
  // Quiet hours and cooldown would defer or skip the bench's calls; a long fallback keeps SMS out of it.
  await product.trpc(
    admin,
    "settings.update",
    { fallback_window_seconds: 120, quiet_hours: null, cooldown_seconds: 0 },
    "POST",
  );
  const { page } = browser;
  await page.addInitScript(() => {
    const state = window as unknown as { rowsAt?: number; deliveredAt?: number };
    new MutationObserver(() => {
      if (state.rowsAt === undefined && document.querySelectorAll("table.data tbody tr").length >= 50) {
        state.rowsAt = performance.now();
      }
      if (
        state.deliveredAt === undefined &&
        document.querySelector('[data-channel="whatsapp"] > p [data-status="delivered"]')
      ) {
        state.deliveredAt = Date.now();
      }
    }).observe(document, { childList: true, subtree: true });
  });

  // Sign in once through the sign-in screen; later loads reuse the saved choice.
  await page.goto(product.webUrl);
  await page.getByRole("button", { name: "Sign in to Northside Plumbing as admin" }).click();
  await page.locator("nav.sidenav").waitFor();

  // 1. Initial JavaScript of a first visit (fresh page, the sign-in already chosen).
  const firstVisit = await openBrowser();
  await firstVisit.page.goto(product.webUrl);
  await firstVisit.page.getByRole("heading", { name: "Sign in to CallFlow" }).waitFor();
  const scripts: string[] = await firstVisit.page.evaluate(() =>
    performance
      .getEntriesByType("resource")
      .map((entry) => entry.name)
      .filter((name) => new URL(name).pathname.endsWith(".js")),
  );
  await firstVisit.close();
  let gzipBytes = 0;
  for (const script of scripts) {
    const path = new URL(script).pathname;
    gzipBytes += gzipSync(readFileSync(`${ROOT}apps/web/dist${path}`), { level: 9 }).length;
  }
  console.log(`initial scripts: ${scripts.map((script) => new URL(script).pathname).join(", ")}`);
  figure("dashboard_initial_js_gzip", gzipBytes / 1024, "kB");

  // 2. Navigation → 50 rows in the calls table.
  const loads = new Latencies();
  let firstLoad = Number.NaN;
  for (let index = 0; index <= options.loads; index++) {
    await page.goto(`${product.webUrl}/calls`);
    await page.waitForFunction(() => (window as unknown as { rowsAt?: number }).rowsAt !== undefined, null, {
      timeout: 30_000,
    });
    const rowsAt = await page.evaluate(() => (window as unknown as { rowsAt: number }).rowsAt);
    if (index === 0) firstLoad = rowsAt;
    else loads.record(rowsAt);
  }
  figure("dashboard_calls_table_50_rows_first_load", firstLoad, "ms");
  latencyFigures("dashboard_calls_table_50_rows", loads.summary(), ["p50", "p95"]);

  // 3. Status callback → the timeline shows it.
  const latencies = new Latencies();
  for (let index = 0; index < options.callbacks; index++) {
    const from = `+1737556${String(index).padStart(3, "0")}1`;
    const { callSid } = await product.placeCall(from, BUSINESS_NUMBER);
    const callId = await callIdOf(product, admin, callSid);
    await page.goto(`${product.webUrl}/calls/${callId}`);
    const message = await sentWhatsApp(product, admin, callId);
    await page.locator('[data-channel="whatsapp"] [data-status="sent"]').first().waitFor({ timeout: 30_000 });
    // The URL the product gave Twilio for this message: signed, with an expiry.
    const webhook = statusCallbackUrls({ publicUrl: product.url, authToken: TWILIO_SANDBOX_AUTH_TOKEN }).urlFor(
      message.id,
    );
    const params = { MessageSid: message.sid, MessageStatus: "delivered", To: `whatsapp:${from}` };
    const signature = twilio.getExpectedTwilioSignature(TWILIO_SANDBOX_AUTH_TOKEN, webhook, params);
    const postedAt = Date.now();
    const response = await fetch(webhook, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature },
      body: new URLSearchParams(params),
    });
    if (!response.ok) throw new Error(`status callback answered ${response.status}: ${await response.text()}`);
    await page.waitForFunction(() => (window as unknown as { deliveredAt?: number }).deliveredAt !== undefined, null, {
      timeout: 30_000,
    });
    latencies.record(
      (await page.evaluate(() => (window as unknown as { deliveredAt: number }).deliveredAt)) - postedAt,
    );
  }
  latencyFigures("dashboard_status_callback_to_timeline", latencies.summary(), ["p50", "max"]);
} finally {
  await browser.close();
  await product.stop();
}
