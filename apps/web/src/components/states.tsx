// Loading, empty and error states, the same on every page. An error says what to do next.

import type { AppRouter } from "@callflow/api/router";
import type { TRPCClientErrorLike } from "@trpc/client";
import { useI18n } from "../i18n.tsx";

export function Loading({ label }: { label?: string }) {
  const { t } = useI18n();
  return (
    <p className="state loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label ?? t("state.loading")}
    </p>
  );
}

export function Empty({ title, hint }: { title: string; hint?: string }) {
  return (
    <div className="state empty">
      <p className="state-title">{title}</p>
      {hint ? <p>{hint}</p> : null}
    </div>
  );
}

type ApiError = TRPCClientErrorLike<AppRouter> | Error;

export function ErrorState({ error, onRetry }: { error: ApiError; onRetry?: () => void }) {
  const { t } = useI18n();
  const code = "data" in error ? (error.data as { code?: string } | undefined)?.code : undefined;
  const next =
    code === "UNAUTHORIZED"
      ? t("error.unauthorized")
      : code === "FORBIDDEN"
        ? t("error.forbidden")
        : code === "TOO_MANY_REQUESTS"
          ? t("error.tooMany")
          : code === "NOT_FOUND"
            ? t("error.notFound")
            : code === "BAD_REQUEST"
              ? t("error.badRequest")
              : code
                ? t("error.server")
                : t("error.network");
  return (
    <div className="state error" role="alert">
      <p className="state-title">{t("error.title")}</p>
      <p>{error.message}</p>
      <p>{next}</p>
      {onRetry ? (
        <button type="button" onClick={onRetry}>
          {t("action.retry")}
        </button>
      ) : null}
    </div>
  );
}

/** Renders a query's loading and error states, and its data when it has some. */
export function QueryState<T>({
  query,
  children,
}: {
  query: { data: T | undefined; error: ApiError | null; isPending: boolean; refetch: () => unknown };
  children: (data: T) => React.ReactNode;
}) {
  if (query.data !== undefined) return <>{children(query.data)}</>;
  if (query.error) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  return <Loading />;
}
