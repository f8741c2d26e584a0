// Leaving for Stripe (Checkout or the Customer Portal) and coming back. Stripe's redirect
// is a full page load, so what the admin chose is kept in sessionStorage (this tab only)
// to know, on return, which plan to wait for: the plan changes when Stripe's webhook has
// been synced, a second or so after the redirect, and the page follows billing.status
// until then.
import { useEffect, useState } from "react";
import { setQuery, useLocation } from "../router.tsx";

const VISIT_KEY = "callflow.stripeVisit";
/** A visit older than this is not the one the admin is coming back from. */
const VISIT_TTL_MS = 60 * 60_000;
/** How long to follow billing.status for Checkout's plan, and after the portal. */
const FOLLOW_CHECKOUT_MS = 60_000;
const FOLLOW_PORTAL_MS = 20_000;

interface StripeVisit {
  orgId: string;
  kind: "checkout" | "portal";
  plan?: string;
}

export type StripeReturn =
  /** Back from a completed Checkout; `plan` is the one chosen, when this tab remembers it. */
  | { kind: "checkout-success"; plan: string | null; deadline: number }
  | { kind: "checkout-canceled" }
  | { kind: "portal"; deadline: number };

export function rememberStripeVisit(visit: StripeVisit) {
  sessionStorage.setItem(VISIT_KEY, JSON.stringify({ ...visit, at: Date.now() }));
}

export function forgetStripeVisit() {
  sessionStorage.removeItem(VISIT_KEY);
}

function storedVisit(orgId: string): StripeVisit | null {
  try {
    const value = JSON.parse(sessionStorage.getItem(VISIT_KEY) ?? "null") as (StripeVisit & { at: number }) | null;
    if (!value || value.orgId !== orgId || !(Date.now() - value.at < VISIT_TTL_MS)) return null;
    if (value.kind !== "checkout" && value.kind !== "portal") return null;
    return { orgId, kind: value.kind, ...(typeof value.plan === "string" ? { plan: value.plan } : {}) };
  } catch {
    return null;
  }
}

function stripeReturnOf(query: URLSearchParams, orgId: string): StripeReturn | null {
  const visit = storedVisit(orgId);
  const checkout = query.get("checkout");
  if (checkout === "success") {
    const plan = visit?.kind === "checkout" ? (visit.plan ?? null) : null;
    return { kind: "checkout-success", plan, deadline: Date.now() + FOLLOW_CHECKOUT_MS };
  }
  if (checkout === "canceled") return { kind: "checkout-canceled" };
  if (visit?.kind === "portal") return { kind: "portal", deadline: Date.now() + FOLLOW_PORTAL_MS };
  return null;
}

/**
 * What the page was opened from, read once: Stripe's `?checkout=` (then taken out of the
 * address, so a reload does not repeat it) and the visit this tab remembers (then
 * forgotten). `expired` turns true when the time to follow billing.status is up.
 */
export function useStripeReturn(orgId: string): { stripeReturn: StripeReturn | null; expired: boolean } {
  const { query } = useLocation();
  const [stripeReturn] = useState(() => stripeReturnOf(query, orgId));
  const [expired, setExpired] = useState(false);
  useEffect(() => {
    forgetStripeVisit();
    const address = new URLSearchParams(window.location.search);
    if (address.has("checkout") || address.has("session")) setQuery({ checkout: undefined, session: undefined });
    if (!stripeReturn || !("deadline" in stripeReturn)) return;
    const timer = setTimeout(() => setExpired(true), Math.max(0, stripeReturn.deadline - Date.now()));
    return () => clearTimeout(timer);
  }, [stripeReturn]);
  return { stripeReturn, expired };
}
