import { PageTitle } from "../components/layout.tsx";
import { Pager, useCursorPages } from "../components/pager.tsx";
import { Empty, QueryState } from "../components/states.tsx";
import { StatusBadge } from "../components/status.tsx";
import { explainError } from "../explain.ts";
import { useI18n } from "../i18n.tsx";
import { setQuery, useLocation } from "../router.tsx";
import { type Inputs, trpc } from "../trpc.ts";

const CHANNELS = ["whatsapp", "sms"] as const;
const STATUSES = ["delivered", "read", "sent", "failed", "undelivered"] as const;

export function MessagesPage() {
  const { t, format, lang } = useI18n();
  const { query } = useLocation();
  const channel = CHANNELS.find((value) => value === query.get("channel"));
  const status = STATUSES.find((value) => value === query.get("status"));
  const filters: Inputs["messages"]["list"] = {
    limit: 50,
    ...(channel ? { channel } : {}),
    ...(status ? { status } : {}),
  };
  const pages = useCursorPages(JSON.stringify(filters));
  const messages = trpc.messages.list.useQuery({ ...filters, cursor: pages.cursor }, { placeholderData: (p) => p });
  return (
    <>
      <PageTitle>{t("nav.messages")}</PageTitle>
      <form className="filters" onSubmit={(event) => event.preventDefault()} aria-label={t("messages.filters")}>
        <label>
          {t("messages.channel")}
          <select value={channel ?? ""} onChange={(event) => setQuery({ channel: event.target.value || undefined })}>
            <option value="">{t("messages.anyChannel")}</option>
            <option value="whatsapp">WhatsApp</option>
            <option value="sms">SMS</option>
          </select>
        </label>
        <label>
          {t("messages.status")}
          <select value={status ?? ""} onChange={(event) => setQuery({ status: event.target.value || undefined })}>
            <option value="">{t("messages.anyStatus")}</option>
            {STATUSES.map((value) => (
              <option key={value} value={value}>
                {t(`status.${value}`)}
              </option>
            ))}
          </select>
        </label>
      </form>
      <QueryState query={messages}>
        {(data) =>
          data.items.length === 0 ? (
            <Empty title={t("messages.empty")} hint={t("messages.emptyHint")} />
          ) : (
            <>
              <div className="table-wrap">
                <table className="data" aria-label={t("nav.messages")}>
                  <thead>
                    <tr>
                      <th scope="col">{t("messages.when")}</th>
                      <th scope="col">{t("messages.to")}</th>
                      <th scope="col">{t("messages.channel")}</th>
                      <th scope="col">{t("messages.status")}</th>
                      <th scope="col">{t("messages.problem")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.items.map((message) => (
                      <tr key={message.id}>
                        <td>{format.dateTime(message.created_at)}</td>
                        <td className="number">{message.to_number}</td>
                        <td>{message.channel === "whatsapp" ? "WhatsApp" : "SMS"}</td>
                        <td>
                          <StatusBadge status={message.status} />
                        </td>
                        <td>
                          {message.error_code != null
                            ? explainError(message.error_code, message.error_message, lang)
                            : ""}
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
