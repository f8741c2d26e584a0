// Billing on Stripe, through the `stripe` SDK: prices found by lookup key (never by id),
// one customer per organization (idempotent on the org), Checkout and the Customer Portal,
// the subscription that decides a business's plan, and webhook signatures. The client's
// host and port can point at the local Stripe sandbox; the secret key is used nowhere else.
import type { SubscriptionStatus } from "@callflow/domain";
import type Stripe from "stripe";
import { ProviderRequestError } from "./messaging-provider.ts";

export interface StripeBillingOptions {
  secretKey: string;
  /** The endpoint's signing secrets: the current one, and the previous one during a rotation. */
  webhookSecrets: readonly string[];
  /** The local Stripe sandbox, when not api.stripe.com. */
  sandbox?: { host: string; port: number };
}

export interface BillingSubscription {
  id: string;
  customerId: string;
  status: SubscriptionStatus;
  /** The lookup key of the subscription's price: which plan it sells. */
  lookupKey: string | null;
  currentPeriodStart: Date | null;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
}

export interface PlanPrice {
  lookupKey: string;
  priceId: string;
  unitAmount: number;
  currency: string;
}

export type WebhookVerification = { ok: true; event: Stripe.Event } | { ok: false; reason: string };

export interface BillingProvider {
  pricesByLookupKey(lookupKeys: readonly string[]): Promise<Map<string, PlanPrice>>;
  createCustomer(organization: { id: string; name: string }): Promise<string>;
  checkoutUrl(request: {
    customerId: string;
    priceId: string;
    organizationId: string;
    successUrl: string;
    cancelUrl: string;
  }): Promise<string>;
  portalUrl(request: { customerId: string; returnUrl: string }): Promise<string>;
  /** The subscription that decides the customer's plan: a live one first, else the latest. */
  currentSubscription(customerId: string): Promise<BillingSubscription | null>;
  /** Stripe-Signature checked on the raw body, 300 s tolerance, against each secret. */
  verifyWebhook(rawBody: string, signature: string | undefined): Promise<WebhookVerification>;
}

/** Statuses that keep a subscription in force, most decisive first. */
const LIVE: readonly string[] = ["active", "trialing", "past_due", "unpaid", "paused", "incomplete"];
const TOLERANCE_SECONDS = 300;

export function createStripeBilling(options: StripeBillingOptions): BillingProvider {
  // The SDK is loaded on first use, not with this module: its 218 modules hold about 15 MB
  // in an API process, and calls, messages and the dashboard's other pages never need it.
  let client: Promise<Stripe> | null = null;
  const sdk = () =>
    (client ??= import("stripe").then(
      ({ default: StripeSdk }) =>
        new StripeSdk(options.secretKey, {
          maxNetworkRetries: 2,
          timeout: 15_000,
          ...(options.sandbox
            ? { host: options.sandbox.host, port: options.sandbox.port, protocol: "http" as const }
            : {}),
        }),
    ));
  const call = async <T>(what: string, work: (stripe: Stripe) => Promise<T>): Promise<T> => {
    try {
      return await work(await sdk());
    } catch (error) {
      const e = error as { type?: string; message?: string; statusCode?: number };
      const retryable =
        e.type === "StripeConnectionError" || e.type === "StripeRateLimitError" || (e.statusCode ?? 0) >= 500;
      throw new ProviderRequestError({
        code: null,
        kind: retryable ? "retryable" : "permanent",
        message: `Stripe could not ${what}: ${e.message ?? String(error)}`,
      });
    }
  };

  return {
    async pricesByLookupKey(lookupKeys) {
      const prices = await call("list prices", (stripe) =>
        stripe.prices.list({ lookup_keys: [...lookupKeys], active: true, limit: 100 }),
      );
      return new Map(
        prices.data
          .filter((price) => price.lookup_key)
          .map((price) => [
            price.lookup_key as string,
            {
              lookupKey: price.lookup_key as string,
              priceId: price.id,
              unitAmount: price.unit_amount ?? 0,
              currency: price.currency,
            },
          ]),
      );
    },
    async createCustomer(organization) {
      const customer = await call("create a customer", (stripe) =>
        stripe.customers.create(
          { name: organization.name || organization.id, metadata: { organization_id: organization.id } },
          // The same organization's concurrent first requests get one customer.
          { idempotencyKey: `callflow-customer-${organization.id}` },
        ),
      );
      return customer.id;
    },
    async checkoutUrl(request) {
      const session = await call("open Checkout", (stripe) =>
        stripe.checkout.sessions.create({
          mode: "subscription",
          customer: request.customerId,
          line_items: [{ price: request.priceId, quantity: 1 }],
          success_url: request.successUrl,
          cancel_url: request.cancelUrl,
          client_reference_id: request.organizationId,
          metadata: { organization_id: request.organizationId },
          subscription_data: { metadata: { organization_id: request.organizationId } },
        }),
      );
      if (!session.url)
        throw new ProviderRequestError({ code: null, kind: "permanent", message: "Stripe gave no Checkout URL" });
      return session.url;
    },
    async portalUrl(request) {
      const session = await call("open the billing portal", (stripe) =>
        stripe.billingPortal.sessions.create({ customer: request.customerId, return_url: request.returnUrl }),
      );
      return session.url;
    },
    async currentSubscription(customerId) {
      const list = await call("read the subscriptions", (stripe) =>
        stripe.subscriptions.list({ customer: customerId, status: "all", limit: 20 }),
      );
      const rank = (status: string) => (LIVE.includes(status) ? LIVE.indexOf(status) : LIVE.length);
      const [current] = [...list.data].sort((a, b) => rank(a.status) - rank(b.status) || b.created - a.created);
      if (!current) return null;
      const item = current.items.data[0];
      return {
        id: current.id,
        customerId,
        status: current.status as SubscriptionStatus,
        lookupKey: item?.price.lookup_key ?? null,
        currentPeriodStart: item ? new Date(item.current_period_start * 1000) : null,
        currentPeriodEnd: item ? new Date(item.current_period_end * 1000) : null,
        cancelAtPeriodEnd: current.cancel_at_period_end,
      };
    },
    async verifyWebhook(rawBody, signature) {
      if (!signature) return { ok: false, reason: "missing Stripe-Signature header" };
      if (options.webhookSecrets.length === 0) return { ok: false, reason: "no webhook signing secret is configured" };
      const stripe = await sdk();
      for (const secret of options.webhookSecrets) {
        try {
          return { ok: true, event: stripe.webhooks.constructEvent(rawBody, signature, secret, TOLERANCE_SECONDS) };
        } catch {}
      }
      return { ok: false, reason: "Stripe-Signature does not match this body, or it is older than 300 s" };
    },
  };
}
