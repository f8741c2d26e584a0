import { useI18n } from "../i18n.tsx";
import type { MessageKey } from "../messages.ts";

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
  const key = `status.${status}` as MessageKey;
  return (
    <span className={`status ${tone[status] ?? "neutral"}`} data-status={status}>
      {t(key) === undefined ? status : t(key)}
    </span>
  );
}

export function OutcomeLabel({ outcome }: { outcome: string | null }) {
  const { t } = useI18n();
  if (!outcome) return <span className="status neutral">{t("outcome.in_progress")}</span>;
  return <span className={`outcome ${outcome}`}>{t(`outcome.${outcome}` as MessageKey)}</span>;
}
