// One call as a story, oldest first: the call, what CallFlow decided and why, each message
// with every status it reached (errors in words), how it ended, and what the caller replied.
import { PageTitle } from "../components/layout.tsx";
import { QueryState } from "../components/states.tsx";
import { OutcomeLabel, StatusBadge } from "../components/status.tsx";
import { explainError, explainReason } from "../explain.ts";
import { useI18n } from "../i18n.tsx";
import { Link } from "../router.tsx";
import { type Outputs, trpc } from "../trpc.ts";

type CallDetail = Outputs["calls"]["get"];
type Reply = Outputs["replies"]["forCall"][number];

export function CallTimelinePage({ id }: { id: string }) {
  const { t } = useI18n();
  const detail = trpc.calls.get.useQuery({ id });
  const replies = trpc.replies.forCall.useQuery({ id });
  return (
    <>
      <PageTitle>{t("timeline.title")}</PageTitle>
      <p>
        <Link href="/calls">← {t("timeline.back")}</Link>
      </p>
      <QueryState query={detail}>{(data) => <Timeline detail={data} replies={replies.data ?? []} />}</QueryState>
    </>
  );
}

function Timeline({ detail, replies }: { detail: CallDetail; replies: Reply[] }) {
  const { t, format, lang } = useI18n();
  const { call, job, messages } = detail;
  const decisionKey = job ? (`timeline.decision.${job.decision}` as const) : null;
  return (
    <ol className="timeline" aria-label={t("timeline.title")}>
      <li className="step">
        <time dateTime={new Date(call.started_at).toISOString()}>{format.dateTime(call.started_at)}</time>
        <p>
          {t("timeline.call", { from: call.from_number, to: call.to_number })} <OutcomeLabel outcome={call.outcome} />
          {call.duration_seconds ? ` · ${t("calls.seconds", { seconds: call.duration_seconds })}` : ""}
        </p>
      </li>
      <li className="step" data-testid="decision">
        {job && decisionKey ? (
          <>
            <time dateTime={new Date(job.created_at).toISOString()}>{format.dateTime(job.created_at)}</time>
            <p>
              <strong>{t(decisionKey)}</strong> {explainReason(job.reason, lang)}
            </p>
            {job.decision === "defer" && job.send_after ? (
              <p>{t("timeline.deferredUntil", { when: format.dateTime(job.send_after) })}</p>
            ) : null}
          </>
        ) : (
          <p>{call.outcome ? t("timeline.noDecisionYet") : t("timeline.callInProgress")}</p>
        )}
      </li>
      {messages.map((message) => (
        <li className="step" key={message.id} data-channel={message.channel}>
          <time dateTime={new Date(message.created_at).toISOString()}>{format.dateTime(message.created_at)}</time>
          <p>
            <strong>{message.channel === "whatsapp" ? t("timeline.whatsapp") : t("timeline.sms")}</strong>{" "}
            {t("timeline.to", { to: message.to_number })} <StatusBadge status={message.status} />
          </p>
          {message.error_code != null ? (
            <p className="error-explained">{explainError(message.error_code, message.error_description, lang)}</p>
          ) : null}
          {message.events.length ? (
            <ul className="history" aria-label={t("timeline.history")}>
              {message.events.map((event) => (
                <li key={`${event.status}-${String(event.received_at)}`}>
                  <time dateTime={new Date(event.received_at).toISOString()}>{format.time(event.received_at)}</time>{" "}
                  <StatusBadge status={event.status} />
                  {event.error_code != null ? ` ${explainError(event.error_code, event.error_description, lang)}` : ""}
                </li>
              ))}
            </ul>
          ) : null}
        </li>
      ))}
      {job && job.decision !== "skip" ? (
        <li className="step" data-testid="job-outcome">
          {job.completed_at ? (
            <time dateTime={new Date(job.completed_at).toISOString()}>{format.dateTime(job.completed_at)}</time>
          ) : null}
          <p>
            <strong>{t("timeline.result")}</strong> <StatusBadge status={job.status} />{" "}
            {job.final_reason ? explainReason(job.final_reason, lang) : ""}
          </p>
        </li>
      ) : null}
      {replies.map((reply) => (
        <li className="step reply" key={reply.id}>
          <time dateTime={new Date(reply.received_at).toISOString()}>{format.dateTime(reply.received_at)}</time>
          <p>
            <strong>{t("timeline.reply", { channel: reply.channel === "whatsapp" ? "WhatsApp" : "SMS" })}</strong>
          </p>
          <blockquote>{reply.body}</blockquote>
        </li>
      ))}
    </ol>
  );
}
