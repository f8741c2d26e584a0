// The sandbox's hosted pages, standing in for checkout.stripe.com and billing.stripe.com:
// plain HTML forms (no script), one button to subscribe, and a portal to change plan or
// cancel. Like Stripe's, a page's URL is its own credential: the random session id in it.

import { type FormValue, parseStripeForm } from "./stripe-form.ts";
import { NO_REQUEST, type SandboxAccount } from "./stripe-sandbox-account.ts";
import { StripeApiError } from "./stripe-sandbox-errors.ts";
import {
  formatAmount,
  type WireCheckoutSession,
  type WirePortalSession,
  type WirePrice,
  type WireSubscription,
} from "./stripe-sandbox-objects.ts";

export interface PageResponse {
  status: number;
  html?: string;
  /** A 303 to here (Stripe's pages redirect after a form post). */
  location?: string;
}

export const CHECKOUT_PATH = "/c/pay/";
export const PORTAL_PATH = "/p/session/";

const PORTAL_ACTIONS = ["change-plan", "cancel-at-period-end", "keep", "cancel-now"] as const;
type PortalAction = (typeof PORTAL_ACTIONS)[number];

/** Answers the page routes; null when the path is not a page. Never throws for bad input. */
export function handlePage(account: SandboxAccount, method: string, path: string, body: string): PageResponse | null {
  const checkout = path.match(/^\/c\/pay\/(cs_test_[A-Za-z0-9]+)$/);
  if (checkout) return checkoutRoute(account, method, checkout[1] as string);
  const portal = path.match(/^\/p\/session\/(bps_[A-Za-z0-9]+)(?:\/subscriptions\/(sub_[A-Za-z0-9]+)\/([a-z-]+))?$/);
  if (!portal) return null;
  const session = account.portalSessions.get(portal[1] as string);
  if (!session) return notFound("This billing portal session does not exist.");
  if (portal[2] === undefined)
    return method === "GET" ? { status: 200, html: portalPage(account, session) } : notAllowed();
  if (method !== "POST") return notAllowed();
  return portalAction(account, session, portal[2], portal[3] as string, body);
}

function checkoutRoute(account: SandboxAccount, method: string, id: string): PageResponse {
  const stored = account.checkoutSessions.get(id) ? account.checkoutSession(id) : undefined;
  if (!stored) return notFound("This Checkout Session does not exist.");
  const { session } = stored;
  if (method === "GET") {
    if (session.status !== "open") return { status: 200, html: checkoutClosedPage(session) };
    return { status: 200, html: checkoutPage(account, session, stored.price, stored.quantity) };
  }
  if (method !== "POST") return notAllowed();
  // A second click after completion lands where the first did, without a second subscription.
  if (session.status === "open") account.completeCheckoutSession(id, NO_REQUEST);
  if (session.status === "expired") return { status: 410, html: checkoutClosedPage(session) };
  if (session.success_url === null) return { status: 200, html: checkoutClosedPage(session) };
  return { status: 303, location: session.success_url.replaceAll("{CHECKOUT_SESSION_ID}", session.id) };
}

function portalAction(
  account: SandboxAccount,
  session: WirePortalSession,
  subscriptionId: string,
  action: string,
  body: string,
): PageResponse {
  const subscription = account.subscriptions.get(subscriptionId);
  if (!subscription || subscription.customer !== session.customer) {
    return notFound("This subscription does not belong to this customer.");
  }
  if (!PORTAL_ACTIONS.includes(action as PortalAction)) return notFound("There is no such portal action.");
  let form: { [key: string]: FormValue };
  try {
    form = parseStripeForm(body);
  } catch (error) {
    return badRequest(session, (error as Error).message);
  }
  try {
    runPortalAction(account, subscription, action as PortalAction, form);
  } catch (error) {
    if (error instanceof StripeApiError) return badRequest(session, error.message);
    throw error;
  }
  return { status: 303, location: session.return_url ?? session.url };
}

function runPortalAction(
  account: SandboxAccount,
  subscription: WireSubscription,
  action: PortalAction,
  form: { [key: string]: FormValue },
) {
  const id = subscription.id;
  switch (action) {
    case "change-plan": {
      const price = form.price;
      if (typeof price !== "string" || price === "") throw new StripeApiError(400, invalid("Choose a plan first."));
      const item = subscription.items.data[0];
      account.updateSubscription(id, { items: [{ id: item?.id, price }] }, NO_REQUEST);
      return;
    }
    case "cancel-at-period-end":
      account.updateSubscription(id, { cancel_at_period_end: true }, NO_REQUEST);
      return;
    case "keep":
      account.updateSubscription(id, { cancel_at_period_end: false }, NO_REQUEST);
      return;
    case "cancel-now":
      account.cancelSubscription(id, {}, NO_REQUEST);
      return;
  }
}

const invalid = (message: string) => ({ type: "invalid_request_error" as const, message });

function notFound(message: string): PageResponse {
  return { status: 404, html: page("Not found", `<h1>Not found</h1><p>${escapeHtml(message)}</p>`) };
}

function notAllowed(): PageResponse {
  return {
    status: 405,
    html: page("Not allowed", "<h1>Not allowed</h1><p>This page takes GET, and its forms POST.</p>"),
  };
}

function badRequest(session: WirePortalSession, message: string): PageResponse {
  return {
    status: 400,
    html: page(
      "That did not work",
      `<h1>That did not work</h1><p role="alert">${escapeHtml(message)}</p><p><a href="${escapeHtml(session.url)}">Back to billing</a></p>`,
    ),
  };
}

function checkoutPage(account: SandboxAccount, session: WireCheckoutSession, price: WirePrice, quantity: number) {
  const product = account.productName(price.product as string);
  const customer = typeof session.customer === "string" ? account.customers.get(session.customer) : undefined;
  const who = customer?.name ?? customer?.email ?? session.customer_email;
  const total = formatAmount((price.unit_amount ?? 0) * quantity, price.currency);
  const cancel = session.cancel_url ? `<p><a href="${escapeHtml(session.cancel_url)}">Cancel and go back</a></p>` : "";
  return page(
    `Subscribe to ${product}`,
    `<h1>Subscribe to ${escapeHtml(product)}</h1>
<p class="price"><strong>${escapeHtml(total)}</strong> per month${quantity > 1 ? ` (${quantity} × ${escapeHtml(formatAmount(price.unit_amount ?? 0, price.currency))})` : ""}</p>
<dl>
${who ? `<dt>Customer</dt><dd>${escapeHtml(who)}</dd>` : ""}
<dt>Billing</dt><dd>Monthly, starting today. Cancel any time in the billing portal.</dd>
</dl>
<form method="post" action="${CHECKOUT_PATH}${escapeHtml(session.id)}">
<button type="submit">Subscribe</button>
</form>
${cancel}`,
  );
}

function checkoutClosedPage(session: WireCheckoutSession) {
  if (session.status === "expired") {
    const back = session.cancel_url ? `<p><a href="${escapeHtml(session.cancel_url)}">Go back</a></p>` : "";
    return page(
      "Checkout expired",
      `<h1>This Checkout Session has expired</h1><p>Start again from the app.</p>${back}`,
    );
  }
  const next = session.success_url
    ? `<p><a href="${escapeHtml(session.success_url.replaceAll("{CHECKOUT_SESSION_ID}", session.id))}">Continue</a></p>`
    : "";
  return page(
    "Subscribed",
    `<h1>Thanks, you are subscribed</h1><p role="status">Your subscription is active.</p>${next}`,
  );
}

const STATUS_TEXT: Record<string, string> = {
  active: "Active",
  past_due: "Past due: the latest payment failed. Update your card to keep the plan.",
  canceled: "Canceled",
  unpaid: "Unpaid",
  incomplete: "Incomplete",
  trialing: "Trial",
  paused: "Paused",
};

function portalPage(account: SandboxAccount, session: WirePortalSession) {
  const customer = account.customers.get(session.customer);
  const subscriptions = [...account.subscriptions.values()].filter(
    (subscription) => subscription.customer === session.customer && subscription.status !== "canceled",
  );
  const back = session.return_url ? `<p><a href="${escapeHtml(session.return_url)}">Return to the app</a></p>` : "";
  const body =
    subscriptions.length === 0
      ? "<p>There is no current subscription.</p>"
      : subscriptions.map((subscription) => subscriptionSection(account, session, subscription)).join("\n");
  const title = `Billing${customer?.name ? ` for ${customer.name}` : ""}`;
  return page(title, `<h1>${escapeHtml(title)}</h1>\n${body}\n${back}`);
}

function subscriptionSection(account: SandboxAccount, session: WirePortalSession, subscription: WireSubscription) {
  const item = subscription.items.data[0];
  if (!item) return "";
  const price = item.price;
  const product = account.productName(price.product as string);
  const action = (name: PortalAction) =>
    `${PORTAL_PATH}${escapeHtml(session.id)}/subscriptions/${subscription.id}/${name}`;
  const ends = subscription.cancel_at_period_end
    ? `Cancels on ${date(item.current_period_end)}.`
    : `Renews on ${date(item.current_period_end)}.`;
  const others = [...account.prices.values()].filter(
    (other) => other.active && other.id !== price.id && other.currency === price.currency,
  );
  const choices = others
    .map(
      (other) =>
        `<div><input type="radio" id="price-${other.id}" name="price" value="${other.id}" required>` +
        `<label for="price-${other.id}">${escapeHtml(account.productName(other.product as string))}: ${escapeHtml(formatAmount(other.unit_amount ?? 0, other.currency))} per month</label></div>`,
    )
    .join("\n");
  const headingId = `plan-${subscription.id}`;
  return `<section aria-labelledby="${headingId}">
<h2 id="${headingId}">Current plan: ${escapeHtml(product)}</h2>
<p>${escapeHtml(formatAmount((price.unit_amount ?? 0) * (item.quantity ?? 1), price.currency))} per month. ${ends}</p>
<p>Status: <strong>${escapeHtml(STATUS_TEXT[subscription.status] ?? subscription.status)}</strong></p>
${
  choices
    ? `<form method="post" action="${action("change-plan")}">
<fieldset><legend>Change plan</legend>
${choices}
</fieldset>
<button type="submit">Change plan</button>
</form>`
    : ""
}
${
  subscription.cancel_at_period_end
    ? `<form method="post" action="${action("keep")}"><button type="submit">Don't cancel</button></form>`
    : `<form method="post" action="${action("cancel-at-period-end")}"><button type="submit">Cancel at the end of the period</button></form>`
}
<form method="post" action="${action("cancel-now")}"><button type="submit">Cancel now</button></form>
</section>`;
}

const date = (seconds: number) =>
  new Date(seconds * 1000).toLocaleDateString("en-US", {
    year: "numeric",
    month: "long",
    day: "numeric",
    timeZone: "UTC",
  });

const STYLE = `body{font-family:system-ui,sans-serif;margin:0;background:#f6f8fa;color:#1a1f36}
main{max-width:32rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 3px #0002}
.sandbox{font-size:.85rem;color:#5c6370;margin-top:0}button{font:inherit;padding:.6rem 1.2rem;margin:.4rem 0;cursor:pointer}
fieldset{border:1px solid #d0d7de;margin:1rem 0}section{border-top:1px solid #d0d7de;padding-top:1rem}`;

function page(title: string, content: string) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Stripe sandbox</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<p class="sandbox">Stripe sandbox: test mode, no card is charged.</p>
${content}
</main>
</body>
</html>
`;
}

export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}
