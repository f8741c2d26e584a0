import { PageTitle } from "../components/layout.tsx";
import { Pager, useCursorPages } from "../components/pager.tsx";
import { Empty, ErrorState, QueryState } from "../components/states.tsx";
import { useI18n } from "../i18n.tsx";
import { Link, setQuery, useLocation } from "../router.tsx";
import { trpc } from "../trpc.ts";

export function RepliesPage() {
  const { t, format } = useI18n();
  const { query } = useLocation();
  const unreadOnly = query.get("unread") === "1";
  const pages = useCursorPages(String(unreadOnly));
  const replies = trpc.replies.list.useQuery(
    { limit: 50, unreadOnly, cursor: pages.cursor },
    { placeholderData: (previous) => previous },
  );
  const utils = trpc.useUtils();
  const markRead = trpc.replies.markRead.useMutation({
    onSuccess: () => Promise.all([utils.replies.invalidate(), utils.live.invalidate()]),
  });
  return (
    <>
      <PageTitle
        actions={
          <button type="button" onClick={() => markRead.mutate({ all: true })} disabled={markRead.isPending}>
            {t("replies.markAll")}
          </button>
        }
      >
        {t("nav.replies")}
      </PageTitle>
      <div className="filters">
        <label className="checkbox">
          <input
            type="checkbox"
            checked={unreadOnly}
            onChange={(event) => setQuery({ unread: event.target.checked ? "1" : undefined })}
          />
          {t("replies.unreadOnly")}
        </label>
      </div>
      {markRead.error ? <ErrorState error={markRead.error} /> : null}
      <QueryState query={replies}>
        {(data) =>
          data.items.length === 0 ? (
            <Empty title={unreadOnly ? t("replies.noneUnread") : t("replies.empty")} hint={t("replies.emptyHint")} />
          ) : (
            <>
              <ul className="replies">
                {data.items.map((reply) => (
                  <li key={reply.id} className={reply.read_at ? "read" : "unread"}>
                    <div className="reply-head">
                      <span className="number">
                        {reply.contact_name ?? reply.from_number.replace(/^whatsapp:/, "")}
                      </span>
                      <span className="channel">{reply.channel === "whatsapp" ? "WhatsApp" : "SMS"}</span>
                      <time dateTime={new Date(reply.received_at).toISOString()}>
                        {format.dateTime(reply.received_at)}
                      </time>
                      {reply.read_at ? null : <span className="status neutral">{t("replies.unread")}</span>}
                    </div>
                    <blockquote>{reply.body}</blockquote>
                    <div className="reply-actions">
                      {reply.call_id ? (
                        <Link href={`/calls/${reply.call_id}`}>{t("replies.openCall")}</Link>
                      ) : (
                        <span className="muted">{t("replies.noCall")}</span>
                      )}
                      <button
                        type="button"
                        className="secondary"
                        onClick={() => markRead.mutate({ ids: [reply.id], read: !reply.read_at })}
                        disabled={markRead.isPending}
                      >
                        {reply.read_at ? t("replies.markUnread") : t("replies.markRead")}
                      </button>
                    </div>
                  </li>
                ))}
              </ul>
              <Pager page={pages.page} nextCursor={data.nextCursor} onOlder={pages.older} onNewer={pages.newer} />
            </>
          )
        }
      </QueryState>
    </>
  );
}
