// The sandbox's Stripe account: catalog, customers, Checkout and portal sessions,
// subscriptions and their invoices, in memory (and, when the sandbox has a state file,
// snapshotted there and restored from it). Every change that Stripe reports by webhook
// is recorded as an event here; delivering it is stripe-sandbox-webhooks.ts's job.
import type { z } from "zod";
import { invalidRequest, resourceMissing } from "./stripe-sandbox-errors.ts";
import type { ExpandableType } from "./stripe-sandbox-expand.ts";
import {
  buildCheckoutSession,
  buildCustomer,
  buildInvoice,
  buildPortalSession,
  buildPrice,
  buildProduct,
  buildSubscription,
  buildSubscriptionItem,
  type CatalogEntry,
  monthsAfter,
  planOf,
  type SandboxEvent,
  type SandboxEventType,
  stripeId,
  unixSeconds,
  type WireCheckoutSession,
  type WireCustomer,
  type WireInvoice,
  type WirePortalSession,
  type WirePrice,
  type WireProduct,
  type WireSubscription,
  type WireSubscriptionItem,
} from "./stripe-sandbox-objects.ts";
import type {
  checkoutSessionCreateParams,
  customerCreateParams,
  MetadataParam,
  portalSessionCreateParams,
  priceListParams,
  subscriptionCancelParams,
  subscriptionListParams,
  subscriptionUpdateParams,
} from "./stripe-sandbox-params.ts";

/** The API request that caused an event (both null for the customer's own clicks and for renewals). */
export interface EventRequest {
  id: string | null;
  idempotency_key: string | null;
}

export const NO_REQUEST: EventRequest = { id: null, idempotency_key: null };

export type EventObjects = { [E in SandboxEvent as E["type"]]: E["data"]["object"] };

export type RecordEvent = <T extends SandboxEventType>(
  type: T,
  object: EventObjects[T],
  previous: Partial<EventObjects[T]> | undefined,
  request: EventRequest,
) => void;

export interface SandboxAccountOptions {
  catalog: readonly CatalogEntry[];
  clock: () => Date;
  record: RecordEvent;
  checkoutPageUrl: (sessionId: string) => string;
  portalPageUrl: (sessionId: string) => string;
}

export interface StoredCheckoutSession {
  session: WireCheckoutSession;
  price: WirePrice;
  quantity: number;
  subscriptionMetadata: Record<string, string>;
  subscriptionDescription: string | null;
}

/** The account as the state file keeps it: each kind of object in the order it was made. */
export interface SavedAccount {
  portalConfiguration: string;
  products: WireProduct[];
  prices: WirePrice[];
  customers: WireCustomer[];
  subscriptions: WireSubscription[];
  invoices: WireInvoice[];
  checkoutSessions: StoredCheckoutSession[];
  portalSessions: WirePortalSession[];
  /** [subscription id, billing period number]. */
  periodNumbers: [string, number][];
}

export class SandboxAccount {
  readonly products = new Map<string, WireProduct>();
  readonly prices = new Map<string, WirePrice>();
  readonly customers = new Map<string, WireCustomer>();
  readonly subscriptions = new Map<string, WireSubscription>();
  readonly invoices = new Map<string, WireInvoice>();
  readonly checkoutSessions = new Map<string, StoredCheckoutSession>();
  readonly portalSessions = new Map<string, WirePortalSession>();
  /** The portal configuration every portal session names (the sandbox has one). */
  readonly portalConfiguration: string;
  /** Which billing period each subscription is in (1 for the first): periods are counted from the anchor. */
  private readonly periodNumbers = new Map<string, number>();

  /** A new account, or the one `saved` holds; either way stocked with the catalog's prices. */
  constructor(
    private readonly options: SandboxAccountOptions,
    saved?: SavedAccount,
  ) {
    this.portalConfiguration = saved?.portalConfiguration ?? stripeId("bpc_");
    if (saved) {
      // Insertion order is creation order: lists read it newest first.
      const byId = <T extends { id: string }>(map: Map<string, T>, objects: T[]) => {
        for (const object of objects) map.set(object.id, object);
      };
      byId(this.products, saved.products);
      byId(this.prices, saved.prices);
      byId(this.customers, saved.customers);
      byId(this.subscriptions, saved.subscriptions);
      byId(this.invoices, saved.invoices);
      byId(this.portalSessions, saved.portalSessions);
      for (const stored of saved.checkoutSessions) this.checkoutSessions.set(stored.session.id, stored);
      for (const [id, number] of saved.periodNumbers) this.periodNumbers.set(id, number);
    }
    this.stockCatalog(options.catalog);
  }

  /** The account's objects, live (serialise them before anything changes). */
  snapshot(): SavedAccount {
    return {
      portalConfiguration: this.portalConfiguration,
      products: [...this.products.values()],
      prices: [...this.prices.values()],
      customers: [...this.customers.values()],
      subscriptions: [...this.subscriptions.values()],
      invoices: [...this.invoices.values()],
      checkoutSessions: [...this.checkoutSessions.values()],
      portalSessions: [...this.portalSessions.values()],
      periodNumbers: [...this.periodNumbers],
    };
  }

  /** Session URLs name the pages' host and port, which a restarted sandbox may serve elsewhere. */
  pointPagesAtThisServer() {
    for (const { session } of this.checkoutSessions.values()) session.url = this.options.checkoutPageUrl(session.id);
    for (const session of this.portalSessions.values()) session.url = this.options.portalPageUrl(session.id);
  }

  /**
   * Each catalog entry on sale under its lookup key, as a Stripe user keeps a catalog: a
   * price that still matches is kept (its id stays valid), a changed amount is a new price
   * that takes over the lookup key (prices are immutable), and a price whose lookup key
   * left the catalog is archived. Subscriptions keep the prices they have.
   */
  private stockCatalog(catalog: readonly CatalogEntry[]) {
    const now = this.now();
    const onSale = new Set(catalog.map((entry) => entry.lookupKey));
    const byLookupKey = new Map<string, WirePrice>();
    for (const price of this.prices.values()) {
      if (price.lookup_key === null) continue;
      byLookupKey.set(price.lookup_key, price);
      if (!onSale.has(price.lookup_key)) price.active = false;
    }
    for (const entry of catalog) {
      const current = byLookupKey.get(entry.lookupKey);
      let product = current ? this.products.get(productIdOf(current)) : undefined;
      if (product && product.name !== entry.productName) {
        product.name = entry.productName;
        product.updated = now;
      }
      if (
        current &&
        current.unit_amount === entry.unitAmount &&
        current.currency === entry.currency &&
        current.recurring?.interval === entry.interval
      ) {
        current.active = true;
        continue;
      }
      if (current) {
        current.lookup_key = null;
        current.active = false;
      }
      if (!product) {
        product = buildProduct(entry, now);
        this.products.set(product.id, product);
      }
      const price = buildPrice(entry, product.id, now);
      product.default_price = price.id;
      this.prices.set(price.id, price);
    }
  }

  now(): number {
    return unixSeconds(this.options.clock());
  }

  /** An object of a type by id, for `expand`; undefined for ids the account does not hold. */
  lookup(type: ExpandableType, id: string): object | undefined {
    switch (type) {
      case "customer":
        return this.customers.get(id);
      case "price":
        return this.prices.get(id);
      case "product":
        return this.products.get(id);
      case "subscription":
        return this.subscriptions.get(id);
      case "invoice":
        return this.invoices.get(id);
      case "checkout.session":
        return this.checkoutSessions.get(id)?.session;
      default:
        return undefined;
    }
  }

  productName(productId: string): string {
    return this.products.get(productId)?.name ?? productId;
  }

  price(id: string, param = "price"): WirePrice {
    const price = this.prices.get(id);
    if (!price) throw resourceMissing("price", id, param);
    if (!price.active) {
      throw invalidRequest("The price specified is inactive. This field only accepts active prices.", { param });
    }
    return price;
  }

  /** Newest first, as Stripe lists. */
  listPrices(filter: z.output<typeof priceListParams>): WirePrice[] {
    const lookupKeys = filter.lookup_keys ? new Set(filter.lookup_keys) : null;
    return [...this.prices.values()]
      .reverse()
      .filter(
        (price) =>
          (filter.active === undefined || price.active === filter.active) &&
          (filter.currency === undefined || price.currency === filter.currency) &&
          (filter.product === undefined || price.product === filter.product) &&
          (filter.type === undefined || price.type === filter.type) &&
          (lookupKeys === null || (price.lookup_key !== null && lookupKeys.has(price.lookup_key))),
      );
  }

  customer(id: string, param = "id"): WireCustomer {
    const customer = this.customers.get(id);
    if (!customer) throw resourceMissing("customer", id, param);
    return customer;
  }

  createCustomer(params: z.output<typeof customerCreateParams>): WireCustomer {
    const customer = buildCustomer(
      {
        name: params.name ?? null,
        email: params.email || null,
        description: params.description ?? null,
        phone: params.phone ?? null,
        metadata: mergeMetadata({}, params.metadata),
      },
      this.now(),
    );
    this.customers.set(customer.id, customer);
    return customer;
  }

  updateCustomer(id: string, params: z.output<typeof customerCreateParams>): WireCustomer {
    const customer = this.customer(id);
    const metadata = mergeMetadata(customer.metadata, params.metadata);
    if (params.name !== undefined) customer.name = params.name;
    if (params.email !== undefined) customer.email = params.email || null;
    if (params.description !== undefined) customer.description = params.description;
    if (params.phone !== undefined) customer.phone = params.phone;
    customer.metadata = metadata;
    return customer;
  }

  createCheckoutSession(params: z.output<typeof checkoutSessionCreateParams>): WireCheckoutSession {
    if (params.mode !== "subscription") {
      throw invalidRequest(
        `The Stripe sandbox implements Checkout in subscription mode only; mode=${params.mode} is not supported.`,
        { param: "mode" },
      );
    }
    if (params.customer !== undefined && params.customer_email !== undefined) {
      throw invalidRequest("You may only specify one of these parameters: customer, customer_email.", {
        param: "customer_email",
        code: "parameters_exclusive",
      });
    }
    if (params.customer !== undefined) this.customer(params.customer, "customer");
    const [lineItem] = params.line_items;
    if (!lineItem) throw invalidRequest("Missing required param: line_items.", { param: "line_items" });
    const price = this.price(lineItem.price, "line_items[0][price]");
    const session = buildCheckoutSession(
      {
        customer: params.customer ?? null,
        customerEmail: params.customer_email ?? null,
        price,
        quantity: lineItem.quantity,
        successUrl: params.success_url ?? null,
        cancelUrl: params.cancel_url ?? null,
        clientReferenceId: params.client_reference_id ?? null,
        metadata: mergeMetadata({}, params.metadata),
        pageUrl: this.options.checkoutPageUrl,
      },
      this.now(),
    );
    this.checkoutSessions.set(session.id, {
      session,
      price,
      quantity: lineItem.quantity,
      subscriptionMetadata: mergeMetadata({}, params.subscription_data?.metadata),
      subscriptionDescription: params.subscription_data?.description ?? null,
    });
    return session;
  }

  /** The stored session, marked expired once its 24 hours are over (Stripe expires it then). */
  checkoutSession(id: string, param = "id"): StoredCheckoutSession {
    const stored = this.checkoutSessions.get(id);
    if (!stored) throw resourceMissing("checkout.session", id, param);
    if (stored.session.status === "open" && this.now() >= stored.session.expires_at) stored.session.status = "expired";
    return stored;
  }

  /** What the Checkout page's button does: subscribe, pay the first invoice, report it. */
  completeCheckoutSession(id: string, request: EventRequest): WireCheckoutSession {
    const stored = this.checkoutSession(id);
    const { session } = stored;
    if (session.status === "complete") throw invalidRequest("This Checkout Session is already complete.");
    if (session.status === "expired") throw invalidRequest("This Checkout Session has expired.");
    const now = this.now();
    const customer =
      typeof session.customer === "string"
        ? this.customer(session.customer, "customer")
        : this.createCustomer({ email: session.customer_email ?? undefined });
    const subscription = buildSubscription(
      {
        customer: customer.id,
        price: stored.price,
        quantity: stored.quantity,
        metadata: stored.subscriptionMetadata,
        description: stored.subscriptionDescription,
        anchor: now,
      },
      now,
    );
    this.subscriptions.set(subscription.id, subscription);
    this.periodNumbers.set(subscription.id, 1);
    const invoice = this.invoice(customer, subscription, "subscription_create", { start: now, end: now }, true);
    subscription.latest_invoice = invoice.id;
    customer.currency ??= subscription.currency;

    session.status = "complete";
    session.payment_status = "paid";
    session.customer = customer.id;
    session.subscription = subscription.id;
    session.invoice = invoice.id;
    session.customer_details = {
      address: null,
      business_name: null,
      email: customer.email,
      individual_name: null,
      name: customer.name ?? null,
      phone: customer.phone ?? null,
      tax_exempt: "none",
      tax_ids: [],
    };

    this.options.record("customer.subscription.created", subscription, undefined, request);
    this.options.record("invoice.paid", invoice, undefined, request);
    this.options.record("checkout.session.completed", session, undefined, request);
    return session;
  }

  createPortalSession(params: z.output<typeof portalSessionCreateParams>): WirePortalSession {
    this.customer(params.customer, "customer");
    const session = buildPortalSession(
      {
        customer: params.customer,
        returnUrl: params.return_url ?? null,
        configuration: this.portalConfiguration,
        pageUrl: this.options.portalPageUrl,
      },
      this.now(),
    );
    this.portalSessions.set(session.id, session);
    return session;
  }

  subscription(id: string, param = "id"): WireSubscription {
    const subscription = this.subscriptions.get(id);
    if (!subscription) throw resourceMissing("subscription", id, param);
    return subscription;
  }

  /** Newest first; without a status filter, canceled subscriptions are left out, as Stripe does. */
  listSubscriptions(filter: z.output<typeof subscriptionListParams>): WireSubscription[] {
    if (filter.customer !== undefined && !this.customers.has(filter.customer)) return [];
    const status = filter.status;
    return [...this.subscriptions.values()].reverse().filter((subscription) => {
      if (filter.customer !== undefined && subscription.customer !== filter.customer) return false;
      if (filter.price !== undefined && !subscription.items.data.some((item) => item.price.id === filter.price)) {
        return false;
      }
      if (status === "all") return true;
      if (status === "ended") return subscription.status === "canceled" || subscription.status === "incomplete_expired";
      if (status === undefined) return subscription.status !== "canceled";
      return subscription.status === status;
    });
  }

  updateSubscription(
    id: string,
    params: z.output<typeof subscriptionUpdateParams>,
    request: EventRequest,
  ): WireSubscription {
    const subscription = this.subscription(id);
    const billingChange =
      params.items !== undefined || params.cancel_at_period_end !== undefined || params.description !== undefined;
    if (subscription.status === "canceled" && billingChange) {
      throw invalidRequest("A canceled subscription can only update its cancellation_details and metadata.");
    }
    // Everything is checked before anything changes: a refusal leaves the subscription as it was.
    const metadata = mergeMetadata(subscription.metadata, params.metadata);
    const items = params.items === undefined ? undefined : this.itemsAfter(subscription, params.items);
    const before = structuredClone(subscription);
    if (items !== undefined) subscription.items = { ...subscription.items, data: items };
    if (params.cancel_at_period_end !== undefined) this.setCancelAtPeriodEnd(subscription, params.cancel_at_period_end);
    if (params.description !== undefined) subscription.description = params.description;
    subscription.metadata = metadata;
    this.recordUpdate(before, subscription, request);
    return subscription;
  }

  cancelSubscription(
    id: string,
    params: z.output<typeof subscriptionCancelParams>,
    request: EventRequest,
  ): WireSubscription {
    const subscription = this.subscription(id);
    if (subscription.status === "canceled") {
      throw invalidRequest(`This subscription is already canceled: '${id}'`, { param: "id" });
    }
    const now = this.now();
    const details = params.cancellation_details;
    subscription.status = "canceled";
    subscription.canceled_at = now;
    subscription.ended_at = now;
    subscription.cancellation_details = {
      ...cancellationDetails(subscription),
      reason: "cancellation_requested",
      ...(details?.comment !== undefined ? { comment: details.comment } : {}),
      ...(details?.feedback !== undefined ? { feedback: details.feedback || null } : {}),
    };
    this.options.record("customer.subscription.deleted", subscription, undefined, request);
    return subscription;
  }

  /**
   * The end of the current period, paid: the next period starts and its invoice is paid.
   * A subscription set to cancel at period end ends instead, as Stripe ends it.
   */
  renewPeriod(id: string): WireSubscription {
    const subscription = this.subscriptionFor("renew", id, ["active"]);
    if (subscription.cancel_at_period_end) return this.endAtPeriodEnd(subscription);
    const before = structuredClone(subscription);
    const invoice = this.startNextPeriod(subscription, true);
    this.options.record("invoice.paid", invoice, undefined, NO_REQUEST);
    this.recordUpdate(before, subscription, NO_REQUEST);
    return subscription;
  }

  /** The end of the current period, with the renewal payment declined: past_due, invoice open. */
  failRenewal(id: string): WireSubscription {
    const subscription = this.subscriptionFor("fail the renewal of", id, ["active"]);
    if (subscription.cancel_at_period_end) return this.endAtPeriodEnd(subscription);
    const before = structuredClone(subscription);
    const invoice = this.startNextPeriod(subscription, false);
    subscription.status = "past_due";
    this.customer(subscription.customer as string).delinquent = true;
    this.options.record("invoice.payment_failed", invoice, undefined, NO_REQUEST);
    this.recordUpdate(before, subscription, NO_REQUEST);
    return subscription;
  }

  /** A retry of the open renewal invoice succeeds: the invoice is paid and the subscription active again. */
  recoverPayment(id: string): WireSubscription {
    const subscription = this.subscriptionFor("recover the payment of", id, ["past_due"]);
    const invoice = this.invoices.get(subscription.latest_invoice as string);
    if (invoice?.status !== "open") {
      throw invalidRequest(`Subscription ${id} has no open invoice to pay.`, { param: "id" });
    }
    const before = structuredClone(subscription);
    const now = this.now();
    invoice.status = "paid";
    invoice.amount_paid = invoice.amount_due;
    invoice.amount_remaining = 0;
    invoice.attempt_count += 1;
    invoice.auto_advance = false;
    invoice.status_transitions.paid_at = now;
    subscription.status = "active";
    this.customer(subscription.customer as string).delinquent = false;
    this.options.record("invoice.paid", invoice, undefined, NO_REQUEST);
    this.recordUpdate(before, subscription, NO_REQUEST);
    return subscription;
  }

  private subscriptionFor(action: string, id: string, statuses: string[]): WireSubscription {
    const subscription = this.subscription(id);
    if (!statuses.includes(subscription.status)) {
      throw invalidRequest(
        `Cannot ${action} subscription ${id}: it is ${subscription.status}, and this needs ${statuses.join(" or ")}.`,
        { param: "id" },
      );
    }
    return subscription;
  }

  private endAtPeriodEnd(subscription: WireSubscription): WireSubscription {
    subscription.status = "canceled";
    subscription.ended_at = subscription.items.data[0]?.current_period_end ?? this.now();
    this.options.record("customer.subscription.deleted", subscription, undefined, NO_REQUEST);
    return subscription;
  }

  private startNextPeriod(subscription: WireSubscription, paid: boolean): WireInvoice {
    const number = (this.periodNumbers.get(subscription.id) ?? 1) + 1;
    this.periodNumbers.set(subscription.id, number);
    const [item] = subscription.items.data;
    const ended = { start: item?.current_period_start ?? this.now(), end: item?.current_period_end ?? this.now() };
    const next = { start: ended.end, end: monthsAfter(subscription.billing_cycle_anchor, number) };
    subscription.items = {
      ...subscription.items,
      data: subscription.items.data.map((each) => ({
        ...each,
        current_period_start: next.start,
        current_period_end: next.end,
      })),
    };
    const customer = this.customer(subscription.customer as string);
    const invoice = this.invoice(customer, subscription, "subscription_cycle", ended, paid);
    subscription.latest_invoice = invoice.id;
    return invoice;
  }

  private invoice(
    customer: WireCustomer,
    subscription: WireSubscription,
    billingReason: "subscription_create" | "subscription_cycle",
    period: { start: number; end: number },
    paid: boolean,
  ): WireInvoice {
    const sequence = customer.next_invoice_sequence ?? 1;
    customer.next_invoice_sequence = sequence + 1;
    const invoice = buildInvoice(
      {
        customer,
        subscription,
        billingReason,
        period,
        paid,
        number: `${customer.invoice_prefix}-${String(sequence).padStart(4, "0")}`,
        productName: (productId) => this.productName(productId),
      },
      this.now(),
    );
    this.invoices.set(invoice.id, invoice);
    return invoice;
  }

  /** Stripe's `items` semantics: with `id` an item changes (or goes, with `deleted`); without, one is added. Checks only. */
  private itemsAfter(
    subscription: WireSubscription,
    changes: NonNullable<z.output<typeof subscriptionUpdateParams>["items"]>,
  ): WireSubscriptionItem[] {
    const items: WireSubscriptionItem[] = [...subscription.items.data];
    const period = {
      start: items[0]?.current_period_start ?? this.now(),
      end: items[0]?.current_period_end ?? this.now(),
    };
    changes.forEach((change, index) => {
      const param = `items[${index}]`;
      const price = change.price === undefined ? undefined : this.price(change.price, `${param}[price]`);
      if (change.id === undefined) {
        if (change.deleted) throw invalidRequest(`${param}[deleted] needs ${param}[id].`, { param: `${param}[id]` });
        if (!price) {
          throw invalidRequest(`Missing required param: ${param}[price].`, {
            param: `${param}[price]`,
            code: "parameter_missing",
          });
        }
        items.push(buildSubscriptionItem(subscription.id, price, change.quantity ?? 1, period, this.now()));
        return;
      }
      const at = items.findIndex((item) => item.id === change.id);
      const existing = items[at];
      if (!existing) throw resourceMissing("subscription item", change.id, `${param}[id]`);
      if (change.deleted) {
        items.splice(at, 1);
        return;
      }
      items[at] = {
        ...existing,
        ...(price ? { price: structuredClone(price), plan: planOf(price) } : {}),
        ...(change.quantity !== undefined ? { quantity: change.quantity } : {}),
      };
    });
    const [only, ...others] = items;
    if (!only || others.length > 0) {
      throw invalidRequest(
        `The Stripe sandbox supports subscriptions with exactly one item; this change would leave ${items.length}.`,
        { param: "items" },
      );
    }
    if (only.price.currency !== subscription.currency) {
      throw invalidRequest(`The price's currency (${only.price.currency}) differs from the subscription's.`, {
        param: "items",
      });
    }
    return items;
  }

  /** Stripe records when cancellation was asked for, and cancels at the end of the period. */
  private setCancelAtPeriodEnd(subscription: WireSubscription, cancel: boolean) {
    if (subscription.cancel_at_period_end === cancel) return;
    subscription.cancel_at_period_end = cancel;
    subscription.cancel_at = cancel ? (subscription.items.data[0]?.current_period_end ?? null) : null;
    subscription.canceled_at = cancel ? this.now() : null;
    subscription.cancellation_details = {
      ...cancellationDetails(subscription),
      reason: cancel ? "cancellation_requested" : null,
    };
  }

  /** customer.subscription.updated with the previous values of what changed; nothing when nothing did. */
  private recordUpdate(before: WireSubscription, after: WireSubscription, request: EventRequest) {
    const previous: Partial<WireSubscription> = {};
    let changed = false;
    for (const key of Object.keys(after) as (keyof WireSubscription)[]) {
      if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) {
        Object.assign(previous, { [key]: before[key] });
        changed = true;
      }
    }
    if (changed) this.options.record("customer.subscription.updated", after, previous, request);
  }
}

const productIdOf = (price: WirePrice) => (typeof price.product === "string" ? price.product : price.product.id);

const cancellationDetails = (subscription: WireSubscription) =>
  subscription.cancellation_details ?? { comment: null, feedback: null, feedback_option: null, reason: null };

/** Stripe's metadata update: "" clears it all, a key set to "" goes, others are set. */
export function mergeMetadata(current: Record<string, string>, change: MetadataParam | undefined) {
  if (change === undefined) return current;
  if (change === "") return {};
  const next: Record<string, string> = { ...current };
  for (const [key, value] of Object.entries(change)) {
    if (value === "") delete next[key];
    else next[key] = value;
  }
  if (Object.keys(next).length > 50) {
    throw invalidRequest("Invalid metadata: may have at most 50 keys.", { param: "metadata" });
  }
  return next;
}
