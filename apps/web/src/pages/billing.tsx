// Billing: the plan and what it allows now, messages this period against the quota, and
// the plans with Stripe's prices. Admins go to Stripe (Checkout to buy a plan, the Customer
// Portal for the rest); members read the same page. Back from Stripe, the page follows
// billing.status until the webhook has changed the plan.
import { useEffect, useState } from "react";
import type { DashboardSession } from "../auth/session.ts";
import { PageTitle } from "../components/layout.tsx";
import { QueryState } from "../components/states.tsx";
import { explainReason } from "../explain.ts";
import { useI18n } from "../i18n.tsx";
import { isMessageKey, type MessageKey } from "../messages.ts";
import { type Outputs, trpc } from "../trpc.ts";
import { forgetStripeVisit, rememberStripeVisit, type StripeReturn, useStripeReturn } from "./stripe-return.ts";

type BillingStatus = Outputs["billing"]["status"];
type PlanChoice = BillingStatus["plans"][number];

const FOLLOW_POLL_MS = 1000;
/** The API's phrases start in lower case, to be joined into sentences; shown alone, they start one. */
const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** Whether billing.status already shows what the admin came back for. */
const arrived = (stripeReturn: StripeReturn | null, status: BillingStatus | undefined) =>
  stripeReturn?.kind === "checkout-success" && stripeReturn.plan !== null && status?.plan.id === stripeReturn.plan;

export function BillingPage({ session }: { session: DashboardSession }) {
  const { t, lang } = useI18n();
  const canManage = session.role === "admin";
  const { stripeReturn, expired } = useStripeReturn(session.orgId);
  const following = stripeReturn !== null && stripeReturn.kind !== "checkout-canceled" && !expired;
  // Stripe changes the subscription outside the dashboard (a renewal, a failed payment, the
  // portal in another tab): read afresh on every visit and when the tab comes back to front.
  const status = trpc.billing.status.useQuery(undefined, {
    staleTime: 0,
    refetchOnWindowFocus: true,
    refetchInterval: (query) => (following && !arrived(stripeReturn, query.state.data) ? FOLLOW_POLL_MS : false),
  });
  const [badUrl, setBadUrl] = useState<string | null>(null);
  // Stripe's pages are another site: the browser leaves the dashboard for the returned URL.
  const leaveFor = (url: string, visit: { kind: "checkout" | "portal"; plan?: string }) => {
    const target = URL.canParse(url) ? new URL(url) : null;
    if (target?.protocol !== "https:" && target?.protocol !== "http:") {
      setBadUrl(url);
      return;
    }
    rememberStripeVisit({ orgId: session.orgId, ...visit });
    window.location.assign(target.href);
  };
  const checkout = trpc.billing.createCheckoutSession.useMutation({
    onSuccess: ({ url }, { plan }) => leaveFor(url, { kind: "checkout", plan }),
  });
  const portal = trpc.billing.createPortalSession.useMutation({
    onSuccess: ({ url }) => leaveFor(url, { kind: "portal" }),
  });
  // Back to this page from Stripe with the browser's back button (a page restored from its cache).
  useEffect(() => {
    const onPageShow = (event: PageTransitionEvent) => {
      if (!event.persisted) return;
      forgetStripeVisit();
      checkout.reset();
      portal.reset();
    };
    window.addEventListener("pageshow", onPageShow);
    return () => window.removeEventListener("pageshow", onPageShow);
  }, [checkout.reset, portal.reset]);

  const leaving = checkout.isPending || checkout.isSuccess || portal.isPending || portal.isSuccess;
  const failure = checkout.error ?? portal.error;
  return (
    <>
      <PageTitle
        actions={
          canManage && status.data?.hasBillingAccount ? (
            <button
              type="button"
              onClick={() => {
                setBadUrl(null);
                checkout.reset();
                portal.mutate();
              }}
              disabled={leaving}
              aria-describedby="manage-hint"
            >
              {portal.isPending || portal.isSuccess ? t("billing.loadingPortal") : t("billing.manage")}
            </button>
          ) : null
        }
      >
        {t("nav.billing")}
      </PageTitle>
      {canManage && status.data?.hasBillingAccount ? (
        <p className="hint" id="manage-hint">
          {t("billing.manageHint")}
        </p>
      ) : null}
      {canManage ? null : (
        <p className="notice" role="note" data-testid="billing-read-only">
          {t("billing.readOnly")}
        </p>
      )}
      <div role="status" aria-live="polite" data-testid="stripe-return">
        <StripeReturnNotice stripeReturn={stripeReturn} expired={expired} status={status.data} />
      </div>
      {failure || badUrl ? (
        <p className="field-error" role="alert" data-testid="billing-error">
          {failure ? explainReason(failure.message, lang) : t("billing.badUrl", { url: badUrl ?? "" })}
        </p>
      ) : null}
      <QueryState query={status}>
        {(data) => (
          <>
            <SendingNotice sending={data.sending} canManage={canManage} />
            <PlanSummary status={data} />
            <Usage status={data} />
            <Plans
              status={data}
              canManage={canManage}
              disabled={leaving}
              choosing={checkout.isPending || checkout.isSuccess ? checkout.variables?.plan : undefined}
              onChoose={(plan) => {
                setBadUrl(null);
                // A Stripe subscription changes plan in Stripe's portal; Checkout would start a second one.
                if (data.subscription?.managedBy === "stripe") {
                  checkout.reset();
                  portal.mutate();
                  return;
                }
                portal.reset();
                checkout.mutate({ plan });
              }}
            />
          </>
        )}
      </QueryState>
    </>
  );
}

function StripeReturnNotice({
  stripeReturn,
  expired,
  status,
}: {
  stripeReturn: StripeReturn | null;
  expired: boolean;
  status: BillingStatus | undefined;
}) {
  const { t, format } = useI18n();
  if (!stripeReturn) return null;
  if (stripeReturn.kind === "checkout-canceled") return <p className="notice">{t("billing.checkoutCanceled")}</p>;
  if (stripeReturn.kind === "portal") return <p className="notice">{t("billing.portalReturn")}</p>;
  if (stripeReturn.plan === null) return <p className="notice">{t("billing.checkoutWaitingAny")}</p>;
  if (status && arrived(stripeReturn, status)) {
    return (
      <p className="notice good" data-testid="checkout-done">
        {t("billing.checkoutDone", { plan: status.plan.name, quota: format.number(status.plan.quota) })}
      </p>
    );
  }
  if (expired) return <p className="notice">{t("billing.checkoutSlow")}</p>;
  const chosen = status?.plans.find((plan) => plan.id === stripeReturn.plan)?.name ?? stripeReturn.plan;
  return (
    <p className="notice">
      <span className="spinner" aria-hidden="true" /> {t("billing.checkoutWaiting", { plan: chosen })}
    </p>
  );
}

/** Sending paused (with the API's reason) or going on in a grace period after a failed payment. */
function SendingNotice({ sending, canManage }: { sending: BillingStatus["sending"]; canManage: boolean }) {
  const { t, format, lang } = useI18n();
  if (!sending.allowed) {
    return (
      <div className="notice bad" role="alert" data-testid="sending-paused">
        <p className="state-title">{t("billing.paused")}</p>
        <p>{sentence(explainReason(sending.reason, lang))}</p>
      </div>
    );
  }
  if (!sending.graceUntil) return null;
  const date = format.dateTime(sending.graceUntil);
  return (
    <p className="notice" role="alert" data-testid="sending-grace">
      {canManage ? t("billing.grace", { date }) : t("billing.graceMember", { date })}
    </p>
  );
}

function PlanSummary({ status }: { status: BillingStatus }) {
  const { t, format } = useI18n();
  const subscription = status.subscription;
  const statusKey = `billing.status.${subscription?.status ?? "none"}`;
  // A status Stripe adds one day reads as Stripe names it until it is translated.
  const statusLabel = isMessageKey(statusKey) ? t(statusKey) : (subscription?.status ?? "");
  // Instants, with their time: a period starting at midnight UTC is the evening before in Chicago.
  const end = subscription?.currentPeriodEnd ? format.dateTime(subscription.currentPeriodEnd) : null;
  // What comes next for the subscription (a payment past due is told by the notice above).
  const next =
    subscription?.cancelAtPeriodEnd && end
      ? t("billing.endsAtPeriodEnd", { plan: status.plan.name, date: end })
      : subscription?.status === "trialing" && end
        ? t("billing.trialEnds", { date: end })
        : subscription?.status === "active" && end
          ? t("billing.renews", { date: end })
          : null;
  // Messages count in the subscription's period while it is paid for and current, else by calendar month.
  const byCalendarMonth =
    !subscription?.currentPeriodEnd ||
    new Date(status.period.end).getTime() !== new Date(subscription.currentPeriodEnd).getTime();
  return (
    <section className="panel" aria-labelledby="plan-title">
      <h2 id="plan-title">{t("billing.plan")}</h2>
      <dl className="facts">
        <dt>{t("billing.planName")}</dt>
        <dd data-testid="current-plan">
          <strong>{status.plan.name}</strong> · {t("billing.quota", { quota: format.number(status.plan.quota) })}
        </dd>
        <dt>{t("billing.status")}</dt>
        <dd data-testid="subscription-status">{statusLabel}</dd>
        <dt>{t("billing.period")}</dt>
        <dd data-testid="billing-period">
          {t("billing.periodRange", {
            start: format.dateTime(status.period.start),
            end: format.dateTime(status.period.end),
          })}
          {byCalendarMonth ? (
            <>
              <br />
              {t("billing.calendarMonth", { date: format.dateTime(status.period.end) })}
            </>
          ) : null}
          {next ? (
            <>
              <br />
              {next}
            </>
          ) : null}
        </dd>
      </dl>
    </section>
  );
}

function Usage({ status }: { status: BillingStatus }) {
  const { t, format, lang } = useI18n();
  const { usage, plan } = status;
  const used = Math.min(usage.messages, plan.quota);
  const full = usage.messages >= plan.quota;
  const atLimit = explainReason(status.atLimit, lang);
  return (
    <section className="panel" aria-labelledby="usage-title">
      <h2 id="usage-title">{t("billing.usage")}</h2>
      <meter
        className="usage-meter"
        aria-labelledby="usage-title"
        aria-describedby="usage-figures"
        min={0}
        max={plan.quota}
        value={used}
        low={plan.quota * 0.8}
        high={plan.quota * 0.95}
        optimum={0}
      />
      <p id="usage-figures" data-testid="usage">
        <strong>
          {t("billing.usageOf", {
            used: format.number(usage.messages),
            quota: format.number(plan.quota),
            percent: format.percent(usage.messages / plan.quota),
          })}
        </strong>
        <br />
        <span className="muted">
          {usage.messages === 0
            ? t("billing.noUsage")
            : t("billing.usageDetail", {
                whatsapp: format.number(usage.whatsapp),
                sms: format.number(usage.sms),
                segments: format.number(usage.smsSegments),
              })}
        </span>
      </p>
      {full ? (
        <p className="notice bad" data-testid="quota-reached">
          {t("billing.quotaReached", { atLimit })}
        </p>
      ) : (
        <p>
          <strong>{t("billing.atLimit")}:</strong> {sentence(atLimit)}.
        </p>
      )}
    </section>
  );
}

/**
 * What an admin can do with a plan: nothing (Free, the current plan) or go to Checkout;
 * the button reads "Upgrade", "Choose" or "Subscribe" and is named after the plan too.
 */
function actionFor(plan: PlanChoice, status: BillingStatus): { label: MessageKey; named: MessageKey } | null {
  if (plan.id === "free") return null;
  // A trial granted by CallFlow turns into the same plan, paid.
  if (plan.id === status.plan.id) {
    return status.subscription?.status === "trialing" ? { label: "billing.subscribe", named: "billing.toPlan" } : null;
  }
  return plan.quota > status.plan.quota
    ? { label: "billing.upgrade", named: "billing.toPlan" }
    : { label: "billing.choose", named: "billing.planOnly" };
}

function Plans({
  status,
  canManage,
  disabled,
  choosing,
  onChoose,
}: {
  status: BillingStatus;
  canManage: boolean;
  disabled: boolean;
  choosing: string | undefined;
  onChoose: (plan: string) => void;
}) {
  const { t, format } = useI18n();
  return (
    <section className="panel" aria-labelledby="plans-title">
      <h2 id="plans-title">{t("billing.plans")}</h2>
      <ul className="plans">
        {status.plans.map((plan) => {
          const current = plan.id === status.plan.id;
          const action = canManage ? actionFor(plan, status) : null;
          return (
            <li key={plan.id} className={current ? "plan current" : "plan"} data-plan={plan.id}>
              <h3>{plan.name}</h3>
              <p className="price">
                {t("billing.perMonth", { price: format.money(plan.price.amount, plan.price.currency) })}
              </p>
              <p>{t("billing.quota", { quota: format.number(plan.quota) })}</p>
              {current ? <p className="current-tag">{t("billing.current")}</p> : null}
              {action ? (
                <button
                  type="button"
                  className={plan.quota > status.plan.quota ? undefined : "secondary"}
                  disabled={disabled}
                  onClick={() => onChoose(plan.id)}
                >
                  {choosing === plan.id ? (
                    t("billing.loadingCheckout")
                  ) : (
                    <>
                      {t(action.label)}
                      <span className="visually-hidden"> {t(action.named, { plan: plan.name })}</span>
                    </>
                  )}
                </button>
              ) : null}
            </li>
          );
        })}
      </ul>
      {canManage && status.subscription?.managedBy === "stripe" ? (
        <p className="hint">{t("billing.freeHint")}</p>
      ) : null}
    </section>
  );
}
