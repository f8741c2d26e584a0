import { useEffect, useState } from "react";
import { PageTitle } from "../components/layout.tsx";
import { Pager, useCursorPages } from "../components/pager.tsx";
import { Empty, QueryState } from "../components/states.tsx";
import { OutcomeLabel } from "../components/status.tsx";
import { useI18n } from "../i18n.tsx";
import { Link, setQuery, useLocation } from "../router.tsx";
import { dayStart, isIsoDay, nextDay } from "../time.ts";
import { type Inputs, trpc } from "../trpc.ts";

const OUTCOMES = ["missed", "voicemail", "answered"] as const;
const NUMBER_SEARCH = /^\+?[0-9]{3,15}$/;

export function CallsPage() {
  const { t, format, timezone } = useI18n();
  const { query } = useLocation();
  const outcome = OUTCOMES.find((value) => value === query.get("outcome"));
  const fromDay = query.get("from");
  const toDay = query.get("to");
  const number = query.get("number") ?? "";
  const [numberDraft, setNumberDraft] = useState(number);
  const numberValid = numberDraft === "" || NUMBER_SEARCH.test(numberDraft.trim());
  useEffect(() => {
    const timer = setTimeout(() => {
      if (numberValid && numberDraft.trim() !== number) setQuery({ number: numberDraft.trim() || undefined });
    }, 300);
    return () => clearTimeout(timer);
  }, [numberDraft, numberValid, number]);

  const filters: Inputs["calls"]["list"] = {
    limit: 50,
    ...(outcome ? { outcome } : {}),
    ...(isIsoDay(fromDay) ? { from: dayStart(fromDay, timezone).toISOString() } : {}),
    ...(isIsoDay(toDay) ? { to: dayStart(nextDay(toDay), timezone).toISOString() } : {}),
    ...(number ? { number } : {}),
  };
  const pages = useCursorPages(JSON.stringify(filters));
  const calls = trpc.calls.list.useQuery(
    { ...filters, cursor: pages.cursor },
    { placeholderData: (previous) => previous },
  );

  return (
    <>
      <PageTitle>{t("nav.calls")}</PageTitle>
      <form className="filters" onSubmit={(event) => event.preventDefault()} aria-label={t("calls.filters")}>
        <label>
          {t("calls.outcome")}
          <select value={outcome ?? ""} onChange={(event) => setQuery({ outcome: event.target.value || undefined })}>
            <option value="">{t("calls.anyOutcome")}</option>
            {OUTCOMES.map((value) => (
              <option key={value} value={value}>
                {t(`outcome.${value}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("calls.from")}
          <input
            type="date"
            value={fromDay ?? ""}
            onChange={(event) => setQuery({ from: event.target.value || undefined })}
          />
        </label>
        <label>
          {t("calls.to")}
          <input
            type="date"
            value={toDay ?? ""}
            onChange={(event) => setQuery({ to: event.target.value || undefined })}
          />
        </label>
        <label>
          {t("calls.number")}
          <input
            type="search"
            inputMode="tel"
            value={numberDraft}
            onChange={(event) => setNumberDraft(event.target.value)}
            aria-invalid={!numberValid}
            aria-describedby="number-hint"
          />
          <span id="number-hint" className={numberValid ? "hint" : "hint invalid"}>
            {t("calls.numberHint")}
          </span>
        </label>
      </form>
      <QueryState query={calls}>
        {(data) =>
          data.items.length === 0 ? (
            <Empty title={t("calls.empty")} hint={t("calls.emptyHint")} />
          ) : (
            <>
              <div className="table-wrap">
                <table className="data" aria-label={t("nav.calls")}>
                  <thead>
                    <tr>
                      <th scope="col">{t("calls.when")}</th>
                      <th scope="col">{t("calls.caller")}</th>
                      <th scope="col">{t("calls.outcome")}</th>
                      <th scope="col">{t("calls.duration")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.items.map((call) => (
                      <tr key={call.id} data-call-id={call.id}>
                        <td>
                          <Link href={`/calls/${call.id}`}>{format.dateTime(call.started_at)}</Link>
                        </td>
                        <td className="number">{call.from_number}</td>
                        <td>
                          <OutcomeLabel outcome={call.outcome} />
                        </td>
                        <td>
                          {call.duration_seconds == null ? "—" : t("calls.seconds", { seconds: call.duration_seconds })}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <Pager page={pages.page} nextCursor={data.nextCursor} onOlder={pages.older} onNewer={pages.newer} />
            </>
          )
        }
      </QueryState>
    </>
  );
}
