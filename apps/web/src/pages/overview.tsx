import { useMemo } from "react";
import { DailyChart } from "../components/daily-chart.tsx";
import { PageTitle } from "../components/layout.tsx";
import { ErrorState, Loading } from "../components/states.tsx";
import { explainReason } from "../explain.ts";
import { useI18n } from "../i18n.tsx";
import { Link, setQuery, useLocation } from "../router.tsx";
import { trpc } from "../trpc.ts";
import { FirstRunChecklist } from "./first-run.tsx";

const PERIODS = [7, 30, 90] as const;
const HOUR = 3_600_000;

export function OverviewPage() {
  const { t, format, lang } = useI18n();
  const { query } = useLocation();
  const days = PERIODS.find((period) => String(period) === query.get("days")) ?? 30;
  // Rounded to the hour so the query's input (and cache key) stays put; "to" is the server's now.
  const input = useMemo(() => {
    const from = new Date(Math.floor((Date.now() - days * 24 * HOUR) / HOUR) * HOUR);
    return { from: from.toISOString() };
  }, [days]);
  const outcomes = trpc.stats.outcomes.useQuery(input);
  const daily = trpc.stats.daily.useQuery(input);

  return (
    <>
      <PageTitle
        actions={
          <label className="inline-field">
            {t("overview.period")}
            <select value={days} onChange={(event) => setQuery({ days: event.target.value })}>
              {PERIODS.map((period) => (
                <option key={period} value={period}>
                  {t("overview.lastDays", { days: period })}
                </option>
              ))}
            </select>
          </label>
        }
      >
        {t("nav.overview")}
      </PageTitle>
      <FirstRunChecklist />
      {outcomes.error ? (
        <ErrorState error={outcomes.error} onRetry={() => void outcomes.refetch()} />
      ) : !outcomes.data ? (
        <Loading />
      ) : (
        <section aria-labelledby="answers" className="cards">
          <h2 id="answers" className="visually-hidden">
            {t("overview.summary")}
          </h2>
          <Card label={t("overview.calls")} value={format.number(outcomes.data.calls.total)} href="/calls">
            {t("overview.callsDetail", {
              missed: outcomes.data.calls.missed,
              voicemail: outcomes.data.calls.voicemail,
              answered: outcomes.data.calls.answered,
            })}
          </Card>
          <Card label={t("overview.reached")} value={format.number(outcomes.data.jobs.callersReached)}>
            {t("overview.reachedDetail", { callers: outcomes.data.calls.callers })}
          </Card>
          <Card
            label={t("overview.whatsapp")}
            value={format.number(outcomes.data.jobs.deliveredWhatsapp)}
            tone="good"
          />
          <Card label={t("overview.fallback")} value={format.number(outcomes.data.jobs.fellBackToSms)}>
            {outcomes.data.jobs.smsOnly ? t("overview.smsOnly", { count: outcomes.data.jobs.smsOnly }) : null}
          </Card>
          <Card
            label={t("overview.failed")}
            value={format.number(outcomes.data.jobs.failed)}
            tone={outcomes.data.jobs.failed ? "bad" : undefined}
            href="/calls"
          />
          <Card label={t("overview.skipped")} value={format.number(outcomes.data.jobs.skipped)}>
            {outcomes.data.skipReasons.length ? (
              <ul className="reasons">
                {outcomes.data.skipReasons.map((row) => (
                  <li key={row.reason}>
                    {explainReason(row.reason, lang)} <span className="count">({row.count})</span>
                  </li>
                ))}
              </ul>
            ) : null}
          </Card>
          {outcomes.data.jobs.inProgress ? (
            <Card label={t("overview.inProgress")} value={format.number(outcomes.data.jobs.inProgress)} />
          ) : null}
        </section>
      )}
      <section aria-labelledby="over-time" className="panel">
        <h2 id="over-time">{t("overview.overTime")}</h2>
        {daily.error ? (
          <ErrorState error={daily.error} onRetry={() => void daily.refetch()} />
        ) : !daily.data ? (
          <Loading />
        ) : daily.data.every((day) => day.calls === 0) ? (
          <p className="muted">{t("overview.noCallsInPeriod")}</p>
        ) : (
          <DailyChart days={daily.data} />
        )}
      </section>
    </>
  );
}

function Card({
  label,
  value,
  tone,
  href,
  children,
}: {
  label: string;
  value: string;
  tone?: "good" | "bad";
  href?: string;
  children?: React.ReactNode;
}) {
  return (
    <article className={`card ${tone ?? ""}`}>
      <h3>{href ? <Link href={href}>{label}</Link> : label}</h3>
      <p className="figure">{value}</p>
      {children ? <div className="detail">{children}</div> : null}
    </article>
  );
}
