import { useCallback, useState } from "react";
import { useI18n } from "../i18n.tsx";

/** Keyset pages: the cursors of the pages before this one, so "newer" can step back. */
export function useCursorPages(resetKey: string) {
  const [state, setState] = useState<{ key: string; cursors: Array<string | undefined> }>({
    key: resetKey,
    cursors: [undefined],
  });
  const cursors = state.key === resetKey ? state.cursors : [undefined];
  const cursor = cursors[cursors.length - 1];
  const older = useCallback(
    (next: string) => setState({ key: resetKey, cursors: [...cursors, next] }),
    [cursors, resetKey],
  );
  const newer = useCallback(() => setState({ key: resetKey, cursors: cursors.slice(0, -1) }), [cursors, resetKey]);
  return { cursor, page: cursors.length, older, newer };
}

export function Pager({
  page,
  nextCursor,
  onOlder,
  onNewer,
}: {
  page: number;
  nextCursor: string | null | undefined;
  onOlder: (cursor: string) => void;
  onNewer: () => void;
}) {
  const { t } = useI18n();
  if (page === 1 && !nextCursor) return null;
  return (
    <nav className="pager" aria-label={t("pager.label")}>
      <button type="button" onClick={onNewer} disabled={page === 1}>
        {t("pager.newer")}
      </button>
      <span>{t("pager.page", { page })}</span>
      <button type="button" onClick={() => nextCursor && onOlder(nextCursor)} disabled={!nextCursor}>
        {t("pager.older")}
      </button>
    </nav>
  );
}
