// The /v1 endpoints the sandbox answers: the part of Stripe's API CallFlow calls, plus
// test helpers (under /v1/test_helpers, Stripe's namespace for test-mode controls) that
// act out what a customer or time would do: complete a Checkout, renew, fail, recover.

import type { FormValue } from "./stripe-form.ts";
import type { EventRequest, SandboxAccount } from "./stripe-sandbox-account.ts";
import { invalidRequest, resourceMissing } from "./stripe-sandbox-errors.ts";
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

type Route = [method: string, pattern: RegExp, handler: (context: RouteContext) => object];

/** Stripe expands at most four levels deep. */
const MAX_EXPAND_DEPTH = 4;

const routes: Route[] = [
  [
    "GET",
    /^\/v1\/prices$/,
    ({ account, params }) => {
      const filter = readParams(priceListParams, params);
      return page(account.listPrices(filter), filter, "/v1/prices", "price");
    },
  ],
  [
    "GET",
    /^\/v1\/prices\/([^/]+)$/,
    ({ account, params, id }) => {
      readParams(retrieveParams, params);
      const price = account.prices.get(id);
      if (!price) throw resourceMissing("price", id);
      return price;
    },
  ],
  [
    "GET",
    /^\/v1\/products\/([^/]+)$/,
    ({ account, params, id }) => {
      readParams(retrieveParams, params);
      const product = account.products.get(id);
      if (!product) throw resourceMissing("product", id);
      return product;
    },
  ],
  [
    "POST",
    /^\/v1\/customers$/,
    ({ account, params }) => account.createCustomer(readParams(customerCreateParams, params)),
  ],
  [
    "GET",
    /^\/v1\/customers\/([^/]+)$/,
    ({ account, params, id }) => {
      readParams(retrieveParams, params);
      return account.customer(id);
    },
  ],
  [
    "POST",
    /^\/v1\/customers\/([^/]+)$/,
    ({ account, params, id }) => account.updateCustomer(id, readParams(customerUpdateParams, params)),
  ],
  [
    "POST",
    /^\/v1\/checkout\/sessions$/,
    ({ account, params }) => account.createCheckoutSession(readParams(checkoutSessionCreateParams, params)),
  ],
  [
    "GET",
    /^\/v1\/checkout\/sessions\/([^/]+)$/,
    ({ account, params, id }) => {
      readParams(retrieveParams, params);
      return account.checkoutSession(id).session;
    },
  ],
  [
    "POST",
    /^\/v1\/billing_portal\/sessions$/,
    ({ account, params }) => account.createPortalSession(readParams(portalSessionCreateParams, params)),
  ],
  [
    "GET",
    /^\/v1\/subscriptions$/,
    ({ account, params }) => {
      const filter = readParams(subscriptionListParams, params);
      return page(account.listSubscriptions(filter), filter, "/v1/subscriptions", "subscription");
    },
  ],
  [
    "GET",
    /^\/v1\/subscriptions\/([^/]+)$/,
    ({ account, params, id }) => {
      readParams(retrieveParams, params);
      return account.subscription(id);
    },
  ],
  [
    "POST",
    /^\/v1\/subscriptions\/([^/]+)$/,
    ({ account, params, id, request }) =>
      account.updateSubscription(id, readParams(subscriptionUpdateParams, params), request),
  ],
  [
    "DELETE",
    /^\/v1\/subscriptions\/([^/]+)$/,
    ({ account, params, id, request }) =>
      account.cancelSubscription(id, readParams(subscriptionCancelParams, params), request),
  ],
  [
    "GET",
    /^\/v1\/invoices\/([^/]+)$/,
    ({ account, params, id }) => {
      readParams(retrieveParams, params);
      const invoice = account.invoices.get(id);
      if (!invoice) throw resourceMissing("invoice", id);
      return invoice;
    },
  ],
  [
    "POST",
    /^\/v1\/test_helpers\/checkout\/sessions\/([^/]+)\/complete$/,
    ({ account, params, id, request }) => {
      readParams(retrieveParams, params);
      return account.completeCheckoutSession(id, request);
    },
  ],
  [
    "POST",
    /^\/v1\/test_helpers\/subscriptions\/([^/]+)\/renew$/,
    ({ account, params, id }) => {
      readParams(retrieveParams, params);
      return account.renewPeriod(id);
    },
  ],
  [
    "POST",
    /^\/v1\/test_helpers\/subscriptions\/([^/]+)\/fail_renewal$/,
    ({ account, params, id }) => {
      readParams(retrieveParams, params);
      return account.failRenewal(id);
    },
  ],
  [
    "POST",
    /^\/v1\/test_helpers\/subscriptions\/([^/]+)\/recover$/,
    ({ account, params, id }) => {
      readParams(retrieveParams, params);
      return account.recoverPayment(id);
    },
  ],
  [
    "POST",
    /^\/v1\/test_helpers\/events\/([^/]+)\/resend$/,
    ({ dispatcher, params, id }) => {
      readParams(retrieveParams, params);
      if (!dispatcher.events.some((event) => event.id === id)) throw resourceMissing("event", id);
      return dispatcher.resend(id);
    },
  ],
];

/** Runs one API call; a refusal is thrown as a StripeApiError. */
export function handleApi(account: SandboxAccount, dispatcher: WebhookDispatcher, call: ApiCall): ApiResult {
  for (const [method, pattern, handler] of routes) {
    const match = call.path.match(pattern);
    if (!match || method !== call.method) continue;
    const id = match[1] === undefined ? "" : decodeId(match[1]);
    // A copy: expansion and the caller must not reach the account's own objects.
    const body = structuredClone(handler({ ...call, id, account, dispatcher }));
    expand(body, call.params.expand, account);
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

/** `expand[]=data.product`: ids at those paths are replaced by the objects they name. */
function expand(body: object, paths: FormValue | undefined, account: SandboxAccount) {
  if (!Array.isArray(paths)) return;
  for (const path of paths) {
    if (typeof path !== "string") continue;
    const segments = path.split(".");
    const levels = segments.filter((segment) => segment !== "data").length;
    if (levels > MAX_EXPAND_DEPTH) {
      throw invalidRequest(`You cannot expand more than ${MAX_EXPAND_DEPTH} levels of a property. Property: ${path}`, {
        param: "expand",
      });
    }
    expandAt(body as Record<string, unknown>, segments, path, account);
  }
}

function expandAt(container: Record<string, unknown>, segments: string[], path: string, account: SandboxAccount) {
  const [head, ...rest] = segments;
  const cannot = () => invalidRequest(`This property cannot be expanded (${path}).`, { param: "expand" });
  if (head === undefined || head === "id" || head === "object" || !Object.hasOwn(container, head)) throw cannot();
  let value = container[head];
  if (typeof value === "string") {
    const found = account.find(value);
    if (!found) throw cannot();
    value = structuredClone(found);
    container[head] = value;
  } else if (rest.length === 0 && value !== null) {
    // Already an object (or not an id at all): Stripe refuses to expand it.
    throw cannot();
  }
  if (rest.length === 0 || value === null) return;
  const children = Array.isArray(value) ? value : [value];
  for (const child of children) {
    if (typeof child !== "object" || child === null) throw cannot();
    expandAt(child as Record<string, unknown>, rest, path, account);
  }
}
