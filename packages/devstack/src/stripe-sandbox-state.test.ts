// The sandbox with a state file, stopped and started again as `npm start` does: the real
// stripe SDK over HTTP on both sides of the restart, webhooks verified by the SDK.
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Stripe from "stripe";
import { afterEach, describe, expect, it } from "vitest";
import { STRIPE_SANDBOX_API_VERSION, type StripeSandboxOptions, startStripeSandbox } from "./stripe-sandbox.ts";
import {
  fixtureCatalog,
  fixtureSecretKey,
  fixtureWebhookSecret,
  manualClock,
  startWebhookReceiver,
  stripeClient,
  type WebhookAnswer,
} from "./stripe-sandbox-fixture.ts";
import type { WireSubscription } from "./stripe-sandbox-objects.ts";
import { STRIPE_SANDBOX_STATE_VERSION, stateTempPath } from "./stripe-sandbox-state.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  // Last started, first stopped; the directories go last.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function stateFilePath() {
  const directory = await mkdtemp(join(tmpdir(), "stripe-sandbox-state-"));
  cleanups.push(() => rm(directory, { recursive: true, force: true }));
  return join(directory, "data", "stripe-sandbox.json");
}

async function receiver(answer?: WebhookAnswer) {
  const started = await startWebhookReceiver(fixtureWebhookSecret, answer);
  cleanups.push(started.stop);
  return started;
}

/** A sandbox on `stateFile`, as start-callflow.ts starts it, with a clock set to `at`. */
async function start(
  stateFile: string,
  endpoint: { url: string },
  at = "2027-01-31T10:00:00Z",
  overrides: Partial<StripeSandboxOptions> = {},
) {
  const clock = manualClock(at);
  const sandbox = await startStripeSandbox({
    secretKey: fixtureSecretKey,
    webhookUrl: `${endpoint.url}/webhooks/stripe`,
    webhookSecret: fixtureWebhookSecret,
    catalog: fixtureCatalog,
    clock: clock.now,
    deliveryRetryDelaysMs: [20, 40],
    stateFile,
    ...overrides,
  });
  cleanups.push(() => sandbox.stop());
  const stripe = stripeClient(sandbox);
  const priceId = (lookupKey: string) => {
    const price = sandbox.prices().find((each) => each.lookup_key === lookupKey && each.active);
    if (!price) throw new Error(`no active price with lookup key ${lookupKey}`);
    return price.id;
  };
  return { sandbox, stripe, clock, priceId };
}

type Started = Awaited<ReturnType<typeof start>>;

/** A business subscribing as in the product: customer, Checkout Session, the page's button. */
async function subscribe({ stripe, priceId }: Started, lookupKey = "callflow_starter_monthly") {
  const customer = await stripe.customers.create({
    name: "Northside Plumbing",
    metadata: { organization_id: "org_1" },
  });
  const session = await stripe.checkout.sessions.create({
    mode: "subscription",
    customer: customer.id,
    line_items: [{ price: priceId(lookupKey), quantity: 1 }],
    success_url: "http://127.0.0.1:9/billing?session={CHECKOUT_SESSION_ID}",
    subscription_data: { metadata: { organization_id: "org_1" } },
  });
  const clicked = await fetch(session.url as string, { method: "POST", redirect: "manual" });
  expect(clicked.status).toBe(303);
  const completed = await stripe.checkout.sessions.retrieve(session.id);
  const subscription = await stripe.subscriptions.retrieve(completed.subscription as string);
  return { customer: await stripe.customers.retrieve(customer.id), subscription, session: completed };
}

/** What a call threw, to look at the typed error. */
async function failure(call: Promise<unknown>): Promise<Error> {
  try {
    await call;
  } catch (error) {
    return error as Error;
  }
  throw new Error("the call succeeded");
}

const at = (iso: string) => Math.floor(new Date(iso).getTime() / 1000);

async function until(condition: () => boolean, what: string) {
  for (let i = 0; i < 200; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`not in time: ${what}`);
}

describe("Stripe sandbox state file", () => {
  it("keeps the account across a restart: objects, dates, events, period count; the portal works for the old customer", async () => {
    const file = await stateFilePath();
    const endpoint = await receiver();
    const first = await start(file, endpoint);
    const { customer, subscription } = await subscribe(first);
    const invoice = await first.stripe.invoices.retrieve(subscription.latest_invoice as string);
    await first.sandbox.whenIdle();
    const eventsBefore = first.sandbox.events.map((event) => [event.id, event.type]);
    const pricesBefore = first.sandbox.prices();
    await first.sandbox.stop();

    // Two weeks later, on another port.
    const second = await start(file, endpoint, "2027-02-14T09:00:00Z");
    expect(await second.stripe.customers.retrieve(customer.id)).toEqual(customer);
    const again = await second.stripe.subscriptions.retrieve(subscription.id);
    expect(again).toEqual(subscription);
    expect(again.created).toBe(at("2027-01-31T10:00:00Z"));
    expect(await second.stripe.invoices.retrieve(invoice.id)).toEqual(invoice);
    expect((await second.stripe.subscriptions.list({ customer: customer.id })).data.map((each) => each.id)).toEqual([
      subscription.id,
    ]);
    expect(second.sandbox.prices()).toEqual(pricesBefore);
    expect(second.sandbox.events.map((event) => [event.id, event.type])).toEqual(eventsBefore);
    // The billing period count survived: the second renewal ends on Mar 31, two months after the Jan 31 anchor.
    expect(second.sandbox.renewPeriod(subscription.id).items.data[0]?.current_period_end).toBe(
      at("2027-03-31T10:00:00Z"),
    );

    // "Manage billing" for the customer CallFlow's database names.
    const portal = await second.stripe.billingPortal.sessions.create({
      customer: customer.id,
      return_url: "http://127.0.0.1:9/billing",
    });
    expect(portal.url.startsWith(`${second.sandbox.url}/p/session/`)).toBe(true);
    const page = await fetch(portal.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Current plan: Starter");
    const cancel = await fetch(`${portal.url}/subscriptions/${subscription.id}/cancel-at-period-end`, {
      method: "POST",
      redirect: "manual",
    });
    expect(cancel.status).toBe(303);
    expect((await second.stripe.subscriptions.retrieve(subscription.id)).cancel_at_period_end).toBe(true);
    await second.sandbox.whenIdle();
    expect(endpoint.types().slice(-1)).toEqual(["customer.subscription.updated"]);
    expect(endpoint.received.every((each) => each.verifyError === null)).toBe(true);
  });

  it("makes ids after a restart that none made before has", async () => {
    const file = await stateFilePath();
    const endpoint = await receiver();
    const first = await start(file, endpoint);
    const before = new Map<string, string>();
    for (let i = 0; i < 20; i++) {
      const customer = await first.stripe.customers.create({ name: `Before ${i}` });
      before.set(customer.id, `Before ${i}`);
    }
    const { subscription } = await subscribe(first);
    await first.sandbox.stop();

    const second = await start(file, endpoint);
    const after = new Set<string>();
    for (let i = 0; i < 20; i++) after.add((await second.stripe.customers.create({ name: `After ${i}` })).id);
    const { customer: newCustomer, subscription: newSubscription } = await subscribe(second);
    after.add(newCustomer.id);
    expect(after.size).toBe(21);
    expect([...after].filter((id) => before.has(id))).toEqual([]);
    expect(newSubscription.id).not.toBe(subscription.id);
    for (const [id, name] of before)
      expect((await second.stripe.customers.retrieve(id)) as Stripe.Customer).toMatchObject({ name });
  });

  it("replays an idempotency key used before the restart, refuses it with other parameters, and forgets it after 24 hours", async () => {
    const file = await stateFilePath();
    const endpoint = await receiver();
    const first = await start(file, endpoint);
    const created = await first.stripe.customers.create({ name: "Keyed" }, { idempotencyKey: "signup-org_1" });
    await first.sandbox.stop();

    const second = await start(file, endpoint, "2027-01-31T11:00:00Z");
    const replayed = await second.stripe.customers.create({ name: "Keyed" }, { idempotencyKey: "signup-org_1" });
    expect(replayed.id).toBe(created.id);
    expect(replayed.lastResponse.headers["idempotent-replayed"]).toBe("true");
    const misused = await failure(
      second.stripe.customers.create({ name: "Someone else" }, { idempotencyKey: "signup-org_1" }),
    );
    expect(misused).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    await second.sandbox.stop();

    const dayLater = await start(file, endpoint, "2027-02-01T10:00:01Z");
    const fresh = await dayLater.stripe.customers.create({ name: "Keyed" }, { idempotencyKey: "signup-org_1" });
    expect(fresh.id).not.toBe(created.id);
    expect(fresh.lastResponse.headers["idempotent-replayed"]).toBeUndefined();
  });

  it("delivers after a restart the events that were held at the stop, in order, signed anew", async () => {
    const file = await stateFilePath();
    const endpoint = await receiver();
    const first = await start(file, endpoint);
    first.sandbox.holdEvents();
    await subscribe(first);
    const owed = first.sandbox.events.map((event) => event.id);
    expect(owed).toHaveLength(3);
    await first.sandbox.stop();
    expect(endpoint.received).toEqual([]);

    const second = await start(file, endpoint);
    await second.sandbox.whenIdle();
    expect(endpoint.events().map((event) => event.id)).toEqual(owed);
    expect(endpoint.received.every((each) => each.verifyError === null)).toBe(true);
  });

  it("makes after a restart the retries that were waiting at the stop, numbered as the next attempts", async () => {
    const file = await stateFilePath();
    // The endpoint is down for the checkout's three events, and back after the restart.
    const endpoint = await receiver((n) => (n <= 3 ? 500 : 200));
    const first = await start(file, endpoint, undefined, { deliveryRetryDelaysMs: [300] });
    await subscribe(first);
    await until(
      () => first.sandbox.deliveries.filter((each) => each.responseStatus === 500).length === 3,
      "3 failures",
    );
    await first.sandbox.stop();
    expect(endpoint.received).toHaveLength(3);

    const second = await start(file, endpoint, undefined, { deliveryRetryDelaysMs: [300] });
    await second.sandbox.whenIdle();
    for (const event of first.sandbox.events) {
      const attempts = second.sandbox.deliveries.filter((each) => each.eventId === event.id);
      expect(attempts.map((each) => [each.attempt, each.responseStatus])).toEqual([
        [1, 500],
        [2, 200],
      ]);
    }
    expect(
      new Set(
        endpoint
          .events()
          .slice(3)
          .map((each) => each.id),
      ),
    ).toEqual(new Set(first.sandbox.events.map((each) => each.id)));
  });

  it("makes again after a crash an attempt that was cut off, from the file as the crash left it", async () => {
    const file = await stateFilePath();
    // An endpoint that never answers its first request (the crash comes first), then answers 200.
    const held: ServerResponse[] = [];
    const bodies: string[] = [];
    const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
      let body = "";
      for await (const chunk of req) body += chunk;
      bodies.push(body);
      if (bodies.length === 1) held.push(res);
      else res.writeHead(200).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    const endpoint = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    const first = await start(file, endpoint);
    await first.stripe.customers.create({ name: "Before the crash" });
    first.sandbox.holdEvents();
    await subscribe(first);
    const [event] = first.sandbox.events;
    first.sandbox.releaseEvents([event?.id as string]);
    await until(() => held.length === 1, "the first delivery to arrive");
    await first.sandbox.whenSaved();
    const crashed = join(file, "..", "crashed.json");
    await copyFile(file, crashed);
    await first.sandbox.stop();

    const second = await start(crashed, endpoint);
    await second.sandbox.whenIdle();
    const attempts = second.sandbox.deliveries.filter((each) => each.eventId === event?.id);
    expect(attempts.map((each) => [each.attempt, each.responseStatus, each.error])).toEqual([
      [1, null, "the sandbox stopped before the endpoint answered"],
      [2, 200, null],
    ]);
    const redelivered = bodies.slice(1).map((body) => (JSON.parse(body) as { id: string }).id);
    expect(redelivered).toContain(event?.id);
    // The two held at the crash were owed too.
    expect(new Set(redelivered)).toEqual(new Set(first.sandbox.events.map((each) => each.id)));
  });

  it("has each answered change on disk already, and a read rewrites nothing", async () => {
    const file = await stateFilePath();
    const endpoint = await receiver();
    const { stripe } = await start(file, endpoint);
    const customer = await stripe.customers.create({ name: "Durable" });
    const saved = JSON.parse(await readFile(file, "utf8"));
    expect(saved.version).toBe(STRIPE_SANDBOX_STATE_VERSION);
    expect(saved.account.customers.map((each: { id: string }) => each.id)).toEqual([customer.id]);
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const before = await readFile(file, "utf8");
    await stripe.customers.retrieve(customer.id);
    await stripe.prices.list({ lookup_keys: ["callflow_starter_monthly"] });
    expect(await readFile(file, "utf8")).toBe(before);
  });

  it("answers concurrent changes each once it is on disk", async () => {
    const file = await stateFilePath();
    const endpoint = await receiver();
    const { stripe } = await start(file, endpoint);
    const onDiskWhenAnswered = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const customer = await stripe.customers.create({ name: `Concurrent ${i}` });
        const saved = JSON.parse(await readFile(file, "utf8")) as { account: { customers: { id: string }[] } };
        return saved.account.customers.some((each) => each.id === customer.id);
      }),
    );
    expect(onDiskWhenAnswered).toEqual(Array(30).fill(true));
  });

  it("saves changes made outside a request in the background, trying again after a failure; stop warns of a last failure", async () => {
    const file = await stateFilePath();
    const endpoint = await receiver();
    const started = await start(file, endpoint);
    const { subscription } = await subscribe(started);
    await started.sandbox.whenIdle();
    await started.sandbox.whenSaved();
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on("warning", onWarning);
    cleanups.push(async () => process.off("warning", onWarning));

    await mkdir(stateTempPath(file));
    const renewed = started.sandbox.renewPeriod(subscription.id);
    await expect(started.sandbox.whenSaved()).rejects.toThrow(/EISDIR/);
    await until(() => warnings.length > 0, "the warning");
    expect(warnings[0]).toMatch(/could not save .*stripe-sandbox\.json \(trying again\): EISDIR/);
    await rm(stateTempPath(file), { recursive: true });
    // No request and no call: the retry alone brings the file up to date.
    const latestInvoice = async () =>
      (JSON.parse(await readFile(file, "utf8")) as { account: { subscriptions: WireSubscription[] } }).account
        .subscriptions[0]?.latest_invoice;
    for (let i = 0; i < 40 && (await latestInvoice()) !== renewed.latest_invoice; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await latestInvoice()).toBe(renewed.latest_invoice);

    await mkdir(stateTempPath(file));
    started.sandbox.failRenewal(subscription.id);
    await started.sandbox.stop();
    const lastWords = /stopped without saving its last changes to .*stripe-sandbox\.json: EISDIR/;
    await until(() => warnings.some((warning) => lastWords.test(warning)), "the warning at the stop");
  });

  it("answers 500 with the reason when a change cannot be saved, and saves it with the next change", async () => {
    const file = await stateFilePath();
    const endpoint = await receiver();
    const { stripe } = await start(file, endpoint);
    // A directory where the temporary file goes: the save fails as on a full or broken disk.
    await mkdir(stateTempPath(file));
    const failed = await failure(stripe.customers.create({ name: "Unsaved" }));
    expect(failed).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect((failed as Stripe.errors.StripeError).statusCode).toBe(500);
    expect(failed.message).toMatch(/could not save its state file .*stripe-sandbox\.json.*EISDIR/);
    expect(JSON.parse(await readFile(file, "utf8")).account.customers).toEqual([]);

    await rm(stateTempPath(file), { recursive: true });
    const next = await stripe.customers.create({ name: "Saved" });
    const names = JSON.parse(await readFile(file, "utf8")).account.customers.map((each: { name: string }) => each.name);
    expect(names).toEqual(["Unsaved", "Saved"]);
    expect(next.name).toBe("Saved");
  });

  it("starts from the last complete file when a crash mid-save left a temporary file behind", async () => {
    const file = await stateFilePath();
    const endpoint = await receiver();
    const first = await start(file, endpoint);
    const customer = await first.stripe.customers.create({ name: "Survivor" });
    await first.sandbox.stop();
    const complete = await readFile(file, "utf8");
    await writeFile(stateTempPath(file), complete.slice(0, Math.floor(complete.length / 2)));

    const second = await start(file, endpoint);
    expect(await second.stripe.customers.retrieve(customer.id)).toMatchObject({ name: "Survivor" });
    await second.stripe.customers.create({ name: "Next" });
    await expect(stat(stateTempPath(file))).rejects.toMatchObject({ code: "ENOENT" });
    await second.sandbox.stop();

    // A crash during the very first save leaves only the temporary file: a new account starts.
    const lonely = await stateFilePath();
    await mkdir(join(lonely, ".."), { recursive: true });
    await writeFile(stateTempPath(lonely), complete.slice(0, 100));
    const fresh = await start(lonely, endpoint);
    expect((await failure(fresh.stripe.customers.retrieve(customer.id))) as Stripe.errors.StripeError).toMatchObject({
      statusCode: 404,
      code: "resource_missing",
    });
  });

  it("refuses to start from a file it cannot read, saying why, and leaves the file as it was", async () => {
    const endpoint = await receiver();
    const file = await stateFilePath();
    const first = await start(file, endpoint);
    await first.stripe.customers.create({ name: "Kept" });
    await first.sandbox.stop();
    const good = JSON.parse(await readFile(file, "utf8"));

    const cases: [string, string, RegExp][] = [
      ["truncated", JSON.stringify(good).slice(0, 200), /it is not valid JSON/],
      ["newer format", JSON.stringify({ ...good, version: 2 }), /format version 2.*reads version 1 only.*newer/],
      ["no version", JSON.stringify({ account: good.account }), /no format version/],
      [
        "wrong shape",
        JSON.stringify({ ...good, account: { ...good.account, customers: "none" } }),
        /account\.customers: .*array/,
      ],
      [
        "an event it does not hold",
        JSON.stringify({
          ...good,
          outstandingDeliveries: [{ eventId: "evt_missing", attempt: 1, dueAt: "2027-01-31T10:00:00.000Z" }],
        }),
        /outstandingDeliveries\.0\.eventId: names event evt_missing/,
      ],
      ["another API version", JSON.stringify({ ...good, apiVersion: "2020-08-27" }), /API version 2020-08-27/],
    ];
    for (const [name, content, reason] of cases) {
      await writeFile(file, content);
      const refused = await failure(start(file, endpoint));
      expect(refused.message, name).toMatch(reason);
      expect(refused.message, name).toContain(file);
      expect(await readFile(file, "utf8"), name).toBe(content);
    }

    const directory = await stateFilePath();
    await mkdir(directory, { recursive: true });
    expect((await failure(start(directory, endpoint))).message).toMatch(/it cannot be read \(EISDIR/);
    expect(STRIPE_SANDBOX_API_VERSION).toBe(good.apiVersion);
  });

  it("follows the catalog: a changed amount is a new price under the lookup key, a dropped plan is archived", async () => {
    const file = await stateFilePath();
    const endpoint = await receiver();
    const first = await start(file, endpoint);
    const { subscription } = await subscribe(first, "callflow_starter_monthly");
    const oldStarter = first.priceId("callflow_starter_monthly");
    const growth = first.priceId("callflow_growth_monthly");
    const pro = first.priceId("callflow_pro_monthly");
    await first.sandbox.stop();

    const catalog = fixtureCatalog
      .filter((entry) => entry.lookupKey !== "callflow_pro_monthly")
      .map((entry) =>
        entry.lookupKey === "callflow_starter_monthly"
          ? { ...entry, unitAmount: 3900, productName: "Starter+" }
          : entry,
      );
    const second = await start(file, endpoint, undefined, { catalog });
    const listed = await second.stripe.prices.list({
      lookup_keys: ["callflow_starter_monthly", "callflow_growth_monthly", "callflow_pro_monthly"],
      active: true,
      expand: ["data.product"],
    });
    const byKey = new Map(listed.data.map((price) => [price.lookup_key, price]));
    expect([...byKey.keys()].sort()).toEqual(["callflow_growth_monthly", "callflow_starter_monthly"]);
    expect(byKey.get("callflow_growth_monthly")?.id).toBe(growth);
    const newStarter = byKey.get("callflow_starter_monthly");
    expect(newStarter?.id).not.toBe(oldStarter);
    expect(newStarter?.unit_amount).toBe(3900);
    expect((newStarter?.product as Stripe.Product | undefined)?.name).toBe("Starter+");
    expect(await second.stripe.prices.retrieve(oldStarter)).toMatchObject({ active: false, lookup_key: null });
    expect(await second.stripe.prices.retrieve(pro)).toMatchObject({ active: false });
    // The subscription keeps the price it was sold at.
    const kept = await second.stripe.subscriptions.retrieve(subscription.id);
    expect(kept.items.data[0]?.price.id).toBe(oldStarter);
    const refused = await failure(
      second.stripe.checkout.sessions.create({
        mode: "subscription",
        line_items: [{ price: pro, quantity: 1 }],
        success_url: "http://127.0.0.1:9/billing",
      }),
    );
    expect(refused.message).toMatch(/inactive/);
  });

  it("serves an open Checkout Session's page from the restarted server, and its button still subscribes", async () => {
    const file = await stateFilePath();
    const endpoint = await receiver();
    const first = await start(file, endpoint);
    const session = await first.stripe.checkout.sessions.create({
      mode: "subscription",
      customer_email: "owner@example.com",
      line_items: [{ price: first.priceId("callflow_growth_monthly"), quantity: 1 }],
      success_url: "http://127.0.0.1:9/billing?session={CHECKOUT_SESSION_ID}",
    });
    await first.sandbox.stop();

    const second = await start(file, endpoint, "2027-01-31T12:00:00Z");
    const reopened = await second.stripe.checkout.sessions.retrieve(session.id);
    expect(reopened.url).toBe(`${second.sandbox.url}/c/pay/${session.id}`);
    expect((await fetch(reopened.url as string)).status).toBe(200);
    const clicked = await fetch(reopened.url as string, { method: "POST", redirect: "manual" });
    expect(clicked.headers.get("location")).toBe(`http://127.0.0.1:9/billing?session=${session.id}`);
    const completed = await second.stripe.checkout.sessions.retrieve(session.id, { expand: ["subscription"] });
    expect(completed).toMatchObject({ status: "complete", subscription: { status: "active" } });
    await second.sandbox.whenIdle();
    expect(endpoint.types()).toEqual(["customer.subscription.created", "invoice.paid", "checkout.session.completed"]);
  });
});
