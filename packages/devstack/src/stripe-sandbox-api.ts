// The /v1 endpoints the sandbox answers: the part of Stripe's API CallFlow calls, plus
// test helpers (under /v1/test_helpers, Stripe's namespace for test-mode controls) that
// act out what a customer or time would do: complete a Checkout, renew, fail, recover.

import type { FormValue } from "./stripe-form.ts";
import type { EventRequest, SandboxAccount } from "./stripe-sandbox-account.ts";
import { invalidRequest, resourceMissing } from "./stripe-sandbox-errors.ts";
import { applyExpansion, planExpansion, type ResponseShape } from "./stripe-sandbox-expand.ts";
import { listOf } from "./stripe-sandbox-objects.ts";
import {
  checkoutSessionCreateParams,
  customerCreateParams,
  customerUpdateParams,
  portalSessionCreateParams,
  priceListParams,
  readParams,
  retrieveParams,
  subscriptionCancelParams,
  subscriptionListParams,
  subscriptionUpdateParams,
} from "./stripe-sandbox-params.ts";
import type { WebhookDispatcher } from "./stripe-sandbox-webhooks.ts";

export interface ApiCall {
  method: string;
  path: string;
  params: { [key: string]: FormValue };
  request: EventRequest;
}

export interface ApiResult {
  status: number;
  body: object;
}

interface RouteContext extends ApiCall {
  /** The id in the path, decoded. */
  id: string;
  account: SandboxAccount;
  dispatcher: WebhookDispatcher;
}

interface Route {
  method: "GET" | "POST" | "DELETE";
  path: RegExp;
  /** What it answers with, for checking `expand` paths before it runs. */
  returns: ResponseShape;
  handle: (context: RouteContext) => object;
}

/** A retrieve: the object by the id in the path, or Stripe's 404. */
const retrieve =
  (kind: string, get: (account: SandboxAccount, id: string) => object | undefined) =>
  ({ account, params, id }: RouteContext) => {
    readParams(retrieveParams, params);
    const found = get(account, id);
    if (!found) throw resourceMissing(kind, id);
    return found;
  };

const routes: Route[] = [
  {
    method: "GET",
    path: /^\/v1\/prices$/,
    returns: { list: "price" },
    handle: ({ account, params }) => {
      const filter = readParams(priceListParams, params);
      return page(account.listPrices(filter), filter, "/v1/prices", "price");
    },
  },
  {
    method: "GET",
    path: /^\/v1\/prices\/([^/]+)$/,
    returns: "price",
    handle: retrieve("price", (account, id) => account.prices.get(id)),
  },
  {
    method: "GET",
    path: /^\/v1\/products\/([^/]+)$/,
    returns: "product",
    handle: retrieve("product", (account, id) => account.products.get(id)),
  },
  {
    method: "POST",
    path: /^\/v1\/customers$/,
    returns: "customer",
    handle: ({ account, params }) => account.createCustomer(readParams(customerCreateParams, params)),
  },
  {
    method: "GET",
    path: /^\/v1\/customers\/([^/]+)$/,
    returns: "customer",
    handle: retrieve("customer", (account, id) => account.customers.get(id)),
  },
  {
    method: "POST",
    path: /^\/v1\/customers\/([^/]+)$/,
    returns: "customer",
    handle: ({ account, params, id }) => account.updateCustomer(id, readParams(customerUpdateParams, params)),
  },
  {
    method: "POST",
    path: /^\/v1\/checkout\/sessions$/,
    returns: "checkout.session",
    handle: ({ account, params }) => account.createCheckoutSession(readParams(checkoutSessionCreateParams, params)),
  },
  {
    method: "GET",
    path: /^\/v1\/checkout\/sessions\/([^/]+)$/,
    returns: "checkout.session",
    handle: retrieve("checkout.session", (account, id) =>
      account.checkoutSessions.has(id) ? account.checkoutSession(id).session : undefined,
    ),
  },
  {
    method: "POST",
    path: /^\/v1\/billing_portal\/sessions$/,
    returns: "billing_portal.session",
    handle: ({ account, params }) => account.createPortalSession(readParams(portalSessionCreateParams, params)),
  },
  {
    method: "GET",
    path: /^\/v1\/subscriptions$/,
    returns: { list: "subscription" },
    handle: ({ account, params }) => {
      const filter = readParams(subscriptionListParams, params);
      return page(account.listSubscriptions(filter), filter, "/v1/subscriptions", "subscription");
    },
  },
  {
    method: "GET",
    path: /^\/v1\/subscriptions\/([^/]+)$/,
    returns: "subscription",
    handle: retrieve("subscription", (account, id) => account.subscriptions.get(id)),
  },
  {
    method: "POST",
    path: /^\/v1\/subscriptions\/([^/]+)$/,
    returns: "subscription",
    handle: ({ account, params, id, request }) =>
      account.updateSubscription(id, readParams(subscriptionUpdateParams, params), request),
  },
  {
    method: "DELETE",
    path: /^\/v1\/subscriptions\/([^/]+)$/,
    returns: "subscription",
    handle: ({ account, params, id, request }) =>
      account.cancelSubscription(id, readParams(subscriptionCancelParams, params), request),
  },
  {
    method: "GET",
    path: /^\/v1\/invoices\/([^/]+)$/,
    returns: "invoice",
    handle: retrieve("invoice", (account, id) => account.invoices.get(id)),
  },
  {
    method: "POST",
    path: /^\/v1\/test_helpers\/checkout\/sessions\/([^/]+)\/complete$/,
    returns: "checkout.session",
    handle: ({ account, params, id, request }) => {
      readParams(retrieveParams, params);
      return account.completeCheckoutSession(id, request);
    },
  },
  {
    method: "POST",
    path: /^\/v1\/test_helpers\/subscriptions\/([^/]+)\/(renew|fail_renewal|recover)$/,
    returns: "subscription",
    handle: ({ account, params, id, path }) => {
      readParams(retrieveParams, params);
      if (path.endsWith("/renew")) return account.renewPeriod(id);
      if (path.endsWith("/fail_renewal")) return account.failRenewal(id);
      return account.recoverPayment(id);
    },
  },
  {
    method: "POST",
    path: /^\/v1\/test_helpers\/events\/([^/]+)\/resend$/,
    returns: "event",
    handle: ({ dispatcher, params, id }) => {
      readParams(retrieveParams, params);
      if (!dispatcher.events.some((event) => event.id === id)) throw resourceMissing("event", id);
      return dispatcher.resend(id);
    },
  },
];

/** Runs one API call; a refusal is thrown as a StripeApiError. */
export function handleApi(account: SandboxAccount, dispatcher: WebhookDispatcher, call: ApiCall): ApiResult {
  for (const route of routes) {
    const match = call.path.match(route.path);
    if (!match || route.method !== call.method) continue;
    const id = match[1] === undefined ? "" : decodeId(match[1]);
    // Checked before the handler runs, so a bad path changes nothing.
    const expand = call.params.expand;
    const paths = Array.isArray(expand) ? expand.filter((path) => typeof path === "string") : [];
    const plan = planExpansion(route.returns, paths);
    // A copy: expansion and the caller must not reach the account's own objects.
    const body = structuredClone(route.handle({ ...call, id, account, dispatcher }));
    applyExpansion(body, plan, (type, objectId) => account.lookup(type, objectId));
    return { status: 200, body };
  }
  throw invalidRequest(
    `Unrecognized request URL (${call.method}: ${call.path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
    { status: 404 },
  );
}

function decodeId(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

interface Pagination {
  limit?: number | undefined;
  starting_after?: string | undefined;
  ending_before?: string | undefined;
}

/** Cursor pagination over a newest-first list, as Stripe's list endpoints page. */
function page<T extends { id: string }>(items: T[], pagination: Pagination, url: string, kind: string) {
  const limit = pagination.limit ?? 10;
  const cursor = pagination.starting_after ?? pagination.ending_before;
  if (cursor === undefined) return listOf(items.slice(0, limit), url, items.length > limit);
  const at = items.findIndex((item) => item.id === cursor);
  const param = pagination.starting_after !== undefined ? "starting_after" : "ending_before";
  if (at === -1) throw resourceMissing(kind, cursor, param);
  if (param === "starting_after") {
    const rest = items.slice(at + 1);
    return listOf(rest.slice(0, limit), url, rest.length > limit);
  }
  const before = items.slice(0, at);
  return listOf(before.slice(-limit), url, before.length > limit);
}
