// Local mode's sign-in: pick a demo business and a role; the API's dev issuer signs a
// session token shaped like Clerk's. Tokens live a minute, so they are renewed shortly
// before they expire, as Clerk's SDK does in cloud mode.
import { type ReactNode, useCallback, useEffect, useMemo, useState } from "react";
import { Loading } from "../components/states.tsx";
import { LanguageSwitch, useI18n } from "../i18n.tsx";
import { apiBase } from "../trpc.ts";
import type { DashboardSession } from "./session.ts";

const CHOICE_KEY = "callflow.localSession";
const RENEW_BEFORE_MS = 15_000;

interface Choice {
  orgId: string;
  role: "admin" | "member";
}
interface Organization {
  id: string;
  name: string;
  timezone: string;
}

function savedChoice(): Choice | null {
  try {
    const value = JSON.parse(localStorage.getItem(CHOICE_KEY) ?? "null") as Choice | null;
    return value && typeof value.orgId === "string" && (value.role === "admin" || value.role === "member")
      ? value
      : null;
  } catch {
    return null;
  }
}

async function requestToken(choice: Choice): Promise<{ token: string; expiresAt: number }> {
  const response = await fetch(`${apiBase}/dev/sign-in`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(choice),
  });
  const body = (await response.json().catch(() => ({}))) as { token?: string; expiresAt?: string; error?: string };
  if (!response.ok || !body.token || !body.expiresAt)
    throw new Error(body.error ?? `sign-in failed (${response.status})`);
  return { token: body.token, expiresAt: Date.parse(body.expiresAt) };
}

/** Keeps one token for a choice, renewing it when it is about to expire; concurrent asks share one request. */
function tokenSource(choice: Choice, first: { token: string; expiresAt: number }) {
  let current = first;
  let renewing: Promise<{ token: string; expiresAt: number }> | null = null;
  return async () => {
    if (current.expiresAt - Date.now() > RENEW_BEFORE_MS) return current.token;
    renewing ??= requestToken(choice).finally(() => {
      renewing = null;
    });
    current = await renewing;
    return current.token;
  };
}

export function LocalAuth({ children }: { children: (session: DashboardSession) => ReactNode }) {
  const { t } = useI18n();
  const [choice, setChoice] = useState<Choice | null>(savedChoice);
  const [session, setSession] = useState<{ choice: Choice; getToken: () => Promise<string> } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  const signOut = useCallback(() => {
    localStorage.removeItem(CHOICE_KEY);
    setSession(null);
    setChoice(null);
  }, []);

  useEffect(() => {
    if (!choice) return;
    let cancelled = false;
    requestToken(choice).then(
      (first) => {
        if (cancelled) return;
        localStorage.setItem(CHOICE_KEY, JSON.stringify(choice));
        setProblem(null);
        setSession({ choice, getToken: tokenSource(choice, first) });
      },
      (error: Error) => {
        if (cancelled) return;
        localStorage.removeItem(CHOICE_KEY);
        setProblem(error.message);
        setChoice(null);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [choice]);

  const dashboardSession = useMemo<DashboardSession | null>(
    () =>
      session && {
        mode: "local",
        orgId: session.choice.orgId,
        role: session.choice.role,
        getToken: session.getToken,
        signOut,
        accountControls: (
          <button type="button" className="secondary" onClick={signOut}>
            {t("signIn.switch")}
          </button>
        ),
      },
    [session, signOut, t],
  );

  if (dashboardSession) return <>{children(dashboardSession)}</>;
  if (choice) return <Loading label={t("signIn.signingIn")} />;
  return <LocalSignIn problem={problem} onChoose={setChoice} />;
}

function LocalSignIn({ problem, onChoose }: { problem: string | null; onChoose: (choice: Choice) => void }) {
  const { t } = useI18n();
  const [organizations, setOrganizations] = useState<Organization[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const load = useCallback(() => {
    setLoadError(null);
    fetch(`${apiBase}/dev/sign-in`)
      .then(async (response) => {
        if (!response.ok) throw new Error(`${response.status}`);
        setOrganizations(((await response.json()) as { organizations: Organization[] }).organizations);
      })
      .catch(() => setLoadError(t("signIn.unreachable")));
  }, [t]);
  useEffect(load, [load]);
  useEffect(() => {
    document.title = `${t("signIn.title")} · CallFlow`;
  }, [t]);

  return (
    <main className="sign-in" id="main">
      <div className="sign-in-head">
        <span className="brand">CallFlow</span>
        <LanguageSwitch />
      </div>
      <h1>{t("signIn.title")}</h1>
      <p>{t("signIn.localIntro")}</p>
      {problem ? (
        <p className="field-error" role="alert">
          {problem}
        </p>
      ) : null}
      {loadError ? (
        <div className="state error" role="alert">
          <p>{loadError}</p>
          <button type="button" onClick={load}>
            {t("action.retry")}
          </button>
        </div>
      ) : !organizations ? (
        <Loading />
      ) : organizations.length === 0 ? (
        <p>{t("signIn.noBusinesses")}</p>
      ) : (
        <ul className="businesses">
          {organizations.map((organization) => (
            <li key={organization.id} className="panel">
              <h2>{organization.name}</h2>
              <p className="muted">{organization.timezone}</p>
              <div className="role-buttons">
                <button type="button" onClick={() => onChoose({ orgId: organization.id, role: "admin" })}>
                  {t("signIn.asAdmin", { name: organization.name })}
                </button>
                <button
                  type="button"
                  className="secondary"
                  onClick={() => onChoose({ orgId: organization.id, role: "member" })}
                >
                  {t("signIn.asMember", { name: organization.name })}
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </main>
  );
}
