import { useI18n } from "../i18n.tsx";
import { en, type MessageKey } from "../messages.ts";

const tone: Record<string, string> = {
  delivered: "good",
  read: "good",
  sent: "neutral",
  queued: "neutral",
  accepted: "neutral",
  sending: "neutral",
  pending: "neutral",
  scheduled: "neutral",
  failed: "bad",
  undelivered: "bad",
  canceled: "bad",
  skipped: "muted",
};

/** A message or job status as a word with a colour; the word carries the meaning, not the colour. */
export function StatusBadge({ status }: { status: string }) {
  const { t } = useI18n();
  const key = `status.${status}`;
  return (
    <span className={`status ${tone[status] ?? "neutral"}`} data-status={status}>
      {key in en ? t(key as MessageKey) : status}
    </span>
  );
}

export function OutcomeLabel({ outcome }: { outcome: string | null }) {
  const { t } = useI18n();
  if (!outcome) return <span className="status neutral">{t("outcome.in_progress")}</span>;
  return <span className={`outcome ${outcome}`}>{t(`outcome.${outcome}` as MessageKey)}</span>;
}
