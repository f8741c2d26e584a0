import { useEffect, useState } from "react";
import { PageTitle } from "../components/layout.tsx";
import { Pager, useCursorPages } from "../components/pager.tsx";
import { Empty, ErrorState, QueryState } from "../components/states.tsx";
import { OutcomeLabel } from "../components/status.tsx";
import { useI18n } from "../i18n.tsx";
import { Link, setQuery, useLocation } from "../router.tsx";
import { type Inputs, type Outputs, trpc } from "../trpc.ts";

const NUMBER_SEARCH = /^\+?[0-9]{3,15}$/;

export function ContactsPage() {
  const { t, format } = useI18n();
  const { query } = useLocation();
  const consent = query.get("consent");
  const number = query.get("number") ?? "";
  const [draft, setDraft] = useState(number);
  const draftValid = draft === "" || NUMBER_SEARCH.test(draft.trim());
  useEffect(() => {
    const timer = setTimeout(() => {
      if (draftValid && draft.trim() !== number) setQuery({ number: draft.trim() || undefined });
    }, 300);
    return () => clearTimeout(timer);
  }, [draft, draftValid, number]);
  const filters: Inputs["contacts"]["list"] = {
    limit: 50,
    ...(consent === "out" ? { optedOut: true } : consent === "in" ? { optedOut: false } : {}),
    ...(number ? { number } : {}),
  };
  const pages = useCursorPages(JSON.stringify(filters));
  const contacts = trpc.contacts.list.useQuery({ ...filters, cursor: pages.cursor }, { placeholderData: (p) => p });
  return (
    <>
      <PageTitle>{t("nav.contacts")}</PageTitle>
      <form className="filters" onSubmit={(event) => event.preventDefault()} aria-label={t("contacts.filters")}>
        <label>
          {t("contacts.consent")}
          <select value={consent ?? ""} onChange={(event) => setQuery({ consent: event.target.value || undefined })}>
            <option value="">{t("contacts.anyConsent")}</option>
            <option value="in">{t("contacts.subscribed")}</option>
            <option value="out">{t("contacts.optedOut")}</option>
          </select>
        </label>
        <label>
          {t("calls.number")}
          <input
            type="search"
            inputMode="tel"
            value={draft}
            onChange={(event) => setDraft(event.target.value)}
            aria-invalid={!draftValid}
            aria-describedby="contact-number-hint"
          />
          <span id="contact-number-hint" className={draftValid ? "hint" : "hint invalid"}>
            {t("calls.numberHint")}
          </span>
        </label>
      </form>
      <QueryState query={contacts}>
        {(data) =>
          data.items.length === 0 ? (
            <Empty title={t("contacts.empty")} hint={t("contacts.emptyHint")} />
          ) : (
            <>
              <div className="table-wrap">
                <table className="data" aria-label={t("nav.contacts")}>
                  <thead>
                    <tr>
                      <th scope="col">{t("contacts.number")}</th>
                      <th scope="col">{t("contacts.name")}</th>
                      <th scope="col">{t("contacts.whatsapp")}</th>
                      <th scope="col">{t("contacts.consent")}</th>
                      <th scope="col">{t("contacts.lastMessaged")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.items.map((contact) => (
                      <tr key={contact.id}>
                        <td className="number">
                          <Link href={`/contacts/${contact.id}`}>{contact.e164}</Link>
                        </td>
                        <td>{contact.name ?? "—"}</td>
                        <td>{t(`contacts.whatsapp.${contact.whatsapp_status}`)}</td>
                        <td>{contact.opted_out_at ? t("contacts.optedOut") : t("contacts.subscribed")}</td>
                        <td>{contact.last_messaged_at ? format.dateTime(contact.last_messaged_at) : "—"}</td>
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

type ContactDetail = Outputs["contacts"]["get"];

export function ContactPage({ id }: { id: string }) {
  const { t } = useI18n();
  const contact = trpc.contacts.get.useQuery({ id });
  return (
    <>
      <PageTitle>{t("contacts.title")}</PageTitle>
      <p>
        <Link href="/contacts">← {t("contacts.back")}</Link>
      </p>
      <QueryState query={contact}>{(data) => <ContactView detail={data} />}</QueryState>
    </>
  );
}

function ContactView({ detail }: { detail: ContactDetail }) {
  const { t, format } = useI18n();
  const { contact, consent, calls } = detail;
  const [reason, setReason] = useState("");
  const utils = trpc.useUtils();
  const onDone = async () => {
    setReason("");
    await utils.contacts.invalidate();
  };
  const optOut = trpc.contacts.optOut.useMutation({ onSuccess: onDone });
  const optIn = trpc.contacts.optIn.useMutation({ onSuccess: onDone });
  const change = contact.opted_out_at ? optIn : optOut;
  return (
    <>
      <section className="panel">
        <h2 className="number">{contact.e164}</h2>
        <dl className="facts">
          <dt>{t("contacts.name")}</dt>
          <dd>{contact.name ?? "—"}</dd>
          <dt>{t("contacts.whatsapp")}</dt>
          <dd>{t(`contacts.whatsapp.${contact.whatsapp_status}`)}</dd>
          <dt>{t("contacts.consent")}</dt>
          <dd data-testid="consent-state">
            {contact.opted_out_at
              ? t("contacts.optedOutSince", { when: format.dateTime(contact.opted_out_at) })
              : t("contacts.subscribed")}
          </dd>
        </dl>
        <form
          className="stack"
          onSubmit={(event) => {
            event.preventDefault();
            change.mutate({ id: contact.id, reason });
          }}
        >
          <label>
            {contact.opted_out_at ? t("contacts.optInReason") : t("contacts.optOutReason")}
            <input
              value={reason}
              onChange={(event) => setReason(event.target.value)}
              required
              minLength={3}
              maxLength={500}
            />
          </label>
          <button type="submit" disabled={change.isPending || reason.trim().length < 3}>
            {contact.opted_out_at ? t("contacts.optIn") : t("contacts.optOut")}
          </button>
          {change.error ? <ErrorState error={change.error} /> : null}
        </form>
      </section>
      <section className="panel">
        <h2>{t("contacts.history")}</h2>
        {consent.length === 0 ? (
          <p className="muted">{t("contacts.noHistory")}</p>
        ) : (
          <ul className="history">
            {consent.map((event) => (
              <li key={event.id}>
                <time dateTime={new Date(event.at).toISOString()}>{format.dateTime(event.at)}</time>{" "}
                <strong>{event.action === "opt_out" ? t("contacts.event.optOut") : t("contacts.event.optIn")}</strong>{" "}
                {t(`contacts.source.${event.source}`)}
                {reasonOf(event.evidence) ? ` — “${reasonOf(event.evidence)}”` : ""}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section className="panel">
        <h2>{t("contacts.calls")}</h2>
        {calls.length === 0 ? (
          <p className="muted">{t("contacts.noCalls")}</p>
        ) : (
          <ul className="history">
            {calls.map((call) => (
              <li key={call.id}>
                <Link href={`/calls/${call.id}`}>{format.dateTime(call.started_at)}</Link>{" "}
                <OutcomeLabel outcome={call.outcome} />
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

const reasonOf = (evidence: unknown) => {
  const value = (evidence as { reason?: unknown; body?: unknown } | null) ?? {};
  return typeof value.reason === "string" ? value.reason : typeof value.body === "string" ? value.body : null;
};
