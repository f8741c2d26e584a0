// The Stripe objects the sandbox serves and posts, built to the types of the installed
// `stripe` SDK (its pinned API version), so a field the SDK expects cannot go missing
// without the typecheck failing. `Wire<T>` is the JSON form of an SDK type: the SDK turns
// decimal strings into Decimal objects on the way in; on the wire they are strings.
import { randomBytes } from "node:crypto";
import type Stripe from "stripe";

export type Wire<T> = T extends string | number | boolean | null | undefined
  ? T
  : T extends Stripe.Decimal
    ? string
    : T extends readonly (infer U)[]
      ? Wire<U>[]
      : T extends object
        ? { [K in keyof T]: Wire<T[K]> }
        : T;

export type WireProduct = Wire<Stripe.Product>;
export type WirePrice = Wire<Stripe.Price>;
export type WireCustomer = Wire<Stripe.Customer>;
export type WireSubscription = Wire<Stripe.Subscription>;
export type WireSubscriptionItem = Wire<Stripe.SubscriptionItem>;
export type WireInvoice = Wire<Stripe.Invoice>;
export type WireCheckoutSession = Wire<Stripe.Checkout.Session>;
export type WirePortalSession = Wire<Stripe.BillingPortal.Session>;

/** The events the sandbox posts, each with the payload type Stripe's SDK gives it. */
export type SandboxEvent =
  | Wire<Stripe.CheckoutSessionCompletedEvent>
  | Wire<Stripe.CustomerSubscriptionCreatedEvent>
  | Wire<Stripe.CustomerSubscriptionUpdatedEvent>
  | Wire<Stripe.CustomerSubscriptionDeletedEvent>
  | Wire<Stripe.InvoicePaidEvent>
  | Wire<Stripe.InvoicePaymentFailedEvent>;
export type SandboxEventType = SandboxEvent["type"];

/** One price of the sandbox's catalog: CallFlow's plans, found by lookup key. */
export interface CatalogEntry {
  lookupKey: string;
  productName: string;
  /** In the currency's smallest unit (cents). */
  unitAmount: number;
  /** ISO 4217, lower case: "usd". */
  currency: string;
  interval: "month";
}

/** Unix seconds, Stripe's timestamps. */
export const unixSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** Ids shaped like Stripe's: a prefix and random letters and digits. */
export function stripeId(prefix: string, length = 24): string {
  const bytes = randomBytes(length);
  let id = prefix;
  for (const byte of bytes) id += BASE62[byte % 62];
  return id;
}

const ZERO_DECIMAL = new Set([
  "bif",
  "clp",
  "djf",
  "gnf",
  "jpy",
  "kmf",
  "krw",
  "mga",
  "pyg",
  "rwf",
  "ugx",
  "vnd",
  "vuv",
  "xaf",
  "xof",
  "xpf",
]);

/** 2900 usd → "$29.00". */
export function formatAmount(amount: number, currency: string): string {
  const units = ZERO_DECIMAL.has(currency) ? amount : amount / 100;
  return new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase() }).format(units);
}

/**
 * The end of period `n` of a monthly subscription anchored at `anchor`: the same day of the
 * month, clamped to the month's last day (Jan 31 → Feb 28 → Mar 31), as Stripe bills.
 */
export function monthsAfter(anchor: number, n: number): number {
  const start = new Date(anchor * 1000);
  const month = start.getUTCMonth() + n;
  const lastDay = new Date(Date.UTC(start.getUTCFullYear(), month + 1, 0)).getUTCDate();
  const day = Math.min(start.getUTCDate(), lastDay);
  return unixSeconds(
    new Date(
      Date.UTC(start.getUTCFullYear(), month, day, start.getUTCHours(), start.getUTCMinutes(), start.getUTCSeconds()),
    ),
  );
}

export function buildProduct(entry: CatalogEntry, now: number): WireProduct {
  return {
    id: stripeId("prod_", 14),
    object: "product",
    active: true,
    created: now,
    default_price: null,
    description: null,
    images: [],
    livemode: false,
    marketing_features: [],
    metadata: {},
    name: entry.productName,
    package_dimensions: null,
    shippable: null,
    statement_descriptor: null,
    tax_code: null,
    tax_details: null,
    type: "service",
    unit_label: null,
    updated: now,
    url: null,
  };
}

export function buildPrice(entry: CatalogEntry, productId: string, now: number): WirePrice {
  return {
    id: stripeId("price_"),
    object: "price",
    active: true,
    billing_scheme: "per_unit",
    created: now,
    currency: entry.currency,
    custom_unit_amount: null,
    livemode: false,
    lookup_key: entry.lookupKey,
    metadata: {},
    nickname: null,
    product: productId,
    recurring: {
      interval: entry.interval,
      interval_count: 1,
      meter: null,
      trial_period_days: null,
      usage_type: "licensed",
    },
    tax_behavior: "unspecified",
    tiers_mode: null,
    transform_quantity: null,
    type: "recurring",
    unit_amount: entry.unitAmount,
    unit_amount_decimal: String(entry.unitAmount),
  };
}

/** The legacy `plan` Stripe still puts beside `price` on subscription items. */
export function planOf(price: WirePrice): Wire<Stripe.Plan> {
  return {
    id: price.id,
    object: "plan",
    active: price.active,
    amount: price.unit_amount,
    amount_decimal: price.unit_amount_decimal,
    billing_scheme: "per_unit",
    created: price.created,
    currency: price.currency,
    interval: price.recurring?.interval ?? "month",
    interval_count: price.recurring?.interval_count ?? 1,
    livemode: false,
    metadata: price.metadata,
    meter: null,
    nickname: price.nickname,
    product: typeof price.product === "string" ? price.product : price.product.id,
    tiers_mode: null,
    transform_usage: null,
    trial_period_days: null,
    usage_type: "licensed",
  };
}

export interface CustomerFields {
  name: string | null;
  email: string | null;
  description: string | null;
  phone: string | null;
  metadata: Record<string, string>;
}

export function buildCustomer(fields: CustomerFields, now: number): WireCustomer {
  return {
    id: stripeId("cus_", 14),
    object: "customer",
    address: null,
    balance: 0,
    created: now,
    currency: null,
    default_source: null,
    delinquent: false,
    description: fields.description,
    discount: null,
    email: fields.email,
    invoice_prefix: stripeId("", 8).toUpperCase(),
    invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
    livemode: false,
    metadata: fields.metadata,
    name: fields.name,
    next_invoice_sequence: 1,
    phone: fields.phone,
    preferred_locales: [],
    shipping: null,
    tax_exempt: "none",
    test_clock: null,
  };
}

export function buildSubscriptionItem(
  subscriptionId: string,
  price: WirePrice,
  quantity: number,
  period: { start: number; end: number },
  now: number,
): WireSubscriptionItem {
  return {
    id: stripeId("si_", 14),
    object: "subscription_item",
    billing_thresholds: null,
    created: now,
    current_period_end: period.end,
    current_period_start: period.start,
    current_trial: null,
    discounts: [],
    metadata: {},
    plan: planOf(price),
    price: structuredClone(price),
    quantity,
    subscription: subscriptionId,
    tax_rates: [],
  };
}

export interface SubscriptionFields {
  customer: string;
  price: WirePrice;
  quantity: number;
  metadata: Record<string, string>;
  description: string | null;
  /** The first period starts here; later periods are whole months after it. */
  anchor: number;
}

export function buildSubscription(fields: SubscriptionFields, now: number): WireSubscription {
  const id = stripeId("sub_");
  const period = { start: fields.anchor, end: monthsAfter(fields.anchor, 1) };
  return {
    id,
    object: "subscription",
    application: null,
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: fields.anchor,
    billing_cycle_anchor_config: null,
    billing_mode: { flexible: { proration_discounts: "included" }, type: "flexible", updated_at: now },
    billing_schedules: [],
    billing_thresholds: null,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, feedback_option: null, reason: null },
    collection_method: "charge_automatically",
    created: now,
    currency: fields.price.currency,
    customer: fields.customer,
    customer_account: null,
    days_until_due: null,
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: fields.description,
    discounts: [],
    ended_at: null,
    invoice_settings: {
      account_tax_ids: null,
      custom_fields: null,
      description: null,
      footer: null,
      issuer: { type: "self" },
    },
    items: {
      object: "list",
      data: [buildSubscriptionItem(id, fields.price, fields.quantity, period, now)],
      has_more: false,
      url: `/v1/subscription_items?subscription=${id}`,
    },
    latest_invoice: null,
    livemode: false,
    managed_payments: null,
    metadata: fields.metadata,
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: { payment_method_options: null, payment_method_types: null, save_default_payment_method: "off" },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: now,
    status: "active",
    test_clock: null,
    transfer_data: null,
    trial_end: null,
    trial_settings: { end_behavior: { billing_cycle_anchor: null, missing_payment_method: "create_invoice" } },
    trial_start: null,
  };
}

export interface InvoiceFields {
  customer: WireCustomer;
  subscription: WireSubscription;
  billingReason: "subscription_create" | "subscription_cycle";
  /** The invoice's own period: for a renewal, the period that just ended (Stripe's convention). */
  period: { start: number; end: number };
  /** Paid at once, or left open after a failed attempt. */
  paid: boolean;
  number: string;
  /** The product's name, for line descriptions ("1 × Starter (at $29.00 / month)"). */
  productName: (productId: string) => string;
}

export function buildInvoice(fields: InvoiceFields, now: number): WireInvoice {
  const { customer, subscription } = fields;
  const id = stripeId("in_");
  const lines = subscription.items.data.map((item) => invoiceLine(id, subscription.id, item, fields.productName));
  const total = lines.reduce((sum, line) => sum + line.amount, 0);
  return {
    id,
    object: "invoice",
    account_country: "US",
    account_name: "Stripe sandbox",
    account_tax_ids: null,
    amount_due: total,
    amount_overpaid: 0,
    amount_paid: fields.paid ? total : 0,
    amount_remaining: fields.paid ? 0 : total,
    amount_shipping: 0,
    application: null,
    attempt_count: 1,
    attempted: true,
    auto_advance: !fields.paid,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    automatically_finalizes_at: null,
    billing_reason: fields.billingReason,
    collection_method: "charge_automatically",
    created: now,
    currency: subscription.currency,
    custom_fields: null,
    customer: customer.id,
    customer_account: null,
    customer_address: null,
    customer_email: customer.email,
    customer_name: customer.name ?? null,
    customer_phone: customer.phone ?? null,
    customer_shipping: null,
    customer_tax_exempt: "none",
    customer_tax_ids: [],
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    due_date: null,
    effective_at: now,
    ending_balance: 0,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: null,
    invoice_pdf: null,
    issuer: { type: "self" },
    last_finalization_error: null,
    latest_revision: null,
    lines: { object: "list", data: lines, has_more: false, url: `/v1/invoices/${id}/lines` },
    livemode: false,
    metadata: {},
    next_payment_attempt: null,
    number: fields.number,
    on_behalf_of: null,
    parent: {
      quote_details: null,
      subscription_details: { metadata: { ...subscription.metadata }, subscription: subscription.id },
      type: "subscription_details",
    },
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: fields.period.end,
    period_start: fields.period.start,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: fields.paid ? "paid" : "open",
    status_transitions: {
      finalized_at: now,
      marked_uncollectible_at: null,
      paid_at: fields.paid ? now : null,
      voided_at: null,
    },
    subtotal: total,
    subtotal_excluding_tax: total,
    test_clock: null,
    total,
    total_discount_amounts: [],
    total_excluding_tax: total,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: null,
  };
}

function invoiceLine(
  invoiceId: string,
  subscriptionId: string,
  item: WireSubscriptionItem,
  productName: (productId: string) => string,
): Wire<Stripe.InvoiceLineItem> {
  const quantity = item.quantity ?? 1;
  const amount = (item.price.unit_amount ?? 0) * quantity;
  const product = typeof item.price.product === "string" ? item.price.product : item.price.product.id;
  return {
    id: stripeId("il_"),
    object: "line_item",
    amount,
    currency: item.price.currency,
    description: `${quantity} × ${productName(product)} (at ${formatAmount(item.price.unit_amount ?? 0, item.price.currency)} / ${item.price.recurring?.interval ?? "month"})`,
    discount_amounts: [],
    discountable: true,
    discounts: [],
    invoice: invoiceId,
    livemode: false,
    metadata: {},
    parent: {
      invoice_item_details: null,
      subscription_item_details: {
        invoice_item: null,
        proration: false,
        proration_details: { credited_items: null },
        subscription: subscriptionId,
        subscription_item: item.id,
      },
      type: "subscription_item_details",
    },
    period: { end: item.current_period_end, start: item.current_period_start },
    pretax_credit_amounts: [],
    pricing: {
      price_details: { price: item.price.id, product },
      type: "price_details",
      unit_amount_decimal: item.price.unit_amount_decimal,
    },
    quantity,
    quantity_decimal: String(quantity),
    subscription: subscriptionId,
    subtotal: amount,
    taxes: [],
  };
}

export interface CheckoutSessionFields {
  customer: string | null;
  customerEmail: string | null;
  price: WirePrice;
  quantity: number;
  successUrl: string | null;
  cancelUrl: string | null;
  clientReferenceId: string | null;
  metadata: Record<string, string>;
  /** Where the sandbox serves this session's page, given its id. */
  pageUrl: (id: string) => string;
}

/** Stripe keeps a Checkout Session open for 24 hours. */
export const CHECKOUT_SESSION_LIFETIME_SECONDS = 24 * 60 * 60;

export function buildCheckoutSession(fields: CheckoutSessionFields, now: number): WireCheckoutSession {
  const id = stripeId("cs_test_", 58);
  const amount = (fields.price.unit_amount ?? 0) * fields.quantity;
  return {
    id,
    object: "checkout.session",
    adaptive_pricing: null,
    after_expiration: null,
    allow_promotion_codes: null,
    allowed_payment_method_types: null,
    amount_subtotal: amount,
    amount_total: amount,
    automatic_tax: { enabled: false, liability: null, provider: null, status: null },
    billing_address_collection: null,
    cancel_url: fields.cancelUrl,
    client_reference_id: fields.clientReferenceId,
    client_secret: null,
    collected_information: null,
    consent: null,
    consent_collection: null,
    created: now,
    currency: fields.price.currency,
    currency_conversion: null,
    custom_fields: [],
    custom_text: { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null },
    customer: fields.customer,
    customer_account: null,
    customer_creation: fields.customer ? null : "always",
    customer_details: null,
    customer_email: fields.customerEmail,
    discounts: [],
    expires_at: now + CHECKOUT_SESSION_LIFETIME_SECONDS,
    integration_identifier: null,
    invoice: null,
    invoice_creation: null,
    livemode: false,
    locale: null,
    managed_payments: null,
    metadata: fields.metadata,
    mode: "subscription",
    origin_context: null,
    payment_intent: null,
    payment_link: null,
    payment_method_collection: "always",
    payment_method_configuration_details: null,
    payment_method_options: null,
    payment_method_types: ["card"],
    payment_status: "unpaid",
    permissions: null,
    phone_number_collection: { enabled: false },
    recovered_from: null,
    saved_payment_method_options: {
      allow_redisplay_filters: ["always"],
      payment_method_remove: null,
      payment_method_save: null,
    },
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_options: [],
    status: "open",
    submit_type: null,
    subscription: null,
    success_url: fields.successUrl,
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    ui_mode: "hosted",
    url: fields.pageUrl(id),
    wallet_options: null,
  };
}

export interface PortalSessionFields {
  customer: string;
  returnUrl: string | null;
  configuration: string;
  pageUrl: (id: string) => string;
}

export function buildPortalSession(fields: PortalSessionFields, now: number): WirePortalSession {
  const id = stripeId("bps_");
  return {
    id,
    object: "billing_portal.session",
    configuration: fields.configuration,
    created: now,
    customer: fields.customer,
    customer_account: null,
    flow: null,
    livemode: false,
    locale: null,
    on_behalf_of: null,
    return_url: fields.returnUrl,
    url: fields.pageUrl(id),
  };
}

/** A Stripe list object. */
export function listOf<T>(data: T[], url: string, hasMore = false) {
  return { object: "list" as const, data, has_more: hasMore, url };
}
