// Boot: ask the API how this deployment signs in (GET /app-config), then show the matching
// sign-in. Clerk's SDK is a separate chunk fetched only in cloud mode.
import { lazy, StrictMode, Suspense, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { Dashboard } from "./app.tsx";
import { LocalAuth } from "./auth/local-auth.tsx";
import type { AppConfig } from "./auth/session.ts";
import { Loading } from "./components/states.tsx";
import { I18nProvider, useI18n } from "./i18n.tsx";
import { RouterProvider } from "./router.tsx";
import { apiBase } from "./trpc.ts";
import "./styles.css";

const ClerkAuth = lazy(() => import("./auth/clerk-auth.tsx"));

function Boot() {
  const { t } = useI18n();
  const [config, setConfig] = useState<AppConfig | null>(null);
  const [failed, setFailed] = useState(false);
  const load = () => {
    setFailed(false);
    fetch(`${apiBase}/app-config`)
      .then(async (response) => {
        if (!response.ok) throw new Error(String(response.status));
        setConfig((await response.json()) as AppConfig);
      })
      .catch(() => setFailed(true));
  };
  useEffect(load, []);

  if (failed) {
    return (
      <main className="sign-in" id="main">
        <h1>CallFlow</h1>
        <div className="state error" role="alert">
          <p>{t("boot.unreachable")}</p>
          <button type="button" onClick={load}>
            {t("action.retry")}
          </button>
        </div>
      </main>
    );
  }
  if (!config) return <Loading />;
  if (config.auth === "local")
    return (
      <LocalAuth>{(session) => <Dashboard key={`${session.orgId}:${session.role}`} session={session} />}</LocalAuth>
    );
  if (!config.clerkPublishableKey) {
    return (
      <main className="sign-in" id="main">
        <h1>CallFlow</h1>
        <p role="alert">{t("boot.noClerkKey")}</p>
      </main>
    );
  }
  return (
    <Suspense fallback={<Loading />}>
      <ClerkAuth publishableKey={config.clerkPublishableKey}>
        {(session) => <Dashboard key={`${session.orgId}:${session.role}`} session={session} />}
      </ClerkAuth>
    </Suspense>
  );
}

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <I18nProvider>
        <RouterProvider>
          <Boot />
        </RouterProvider>
      </I18nProvider>
    </StrictMode>,
  );
}
