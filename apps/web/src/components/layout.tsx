import { type ReactNode, useEffect, useRef } from "react";
import type { DashboardSession } from "../auth/session.ts";
import { LanguageSwitch, useI18n } from "../i18n.tsx";
import type { MessageKey } from "../messages.ts";
import { Link, useLocation } from "../router.tsx";

// The navigation, in order.
const NAV: Array<{ href: string; label: MessageKey }> = [
  { href: "/", label: "nav.overview" },
  { href: "/calls", label: "nav.calls" },
  { href: "/replies", label: "nav.replies" },
  { href: "/messages", label: "nav.messages" },
  { href: "/contacts", label: "nav.contacts" },
  { href: "/templates", label: "nav.templates" },
  { href: "/settings", label: "nav.settings" },
  { href: "/billing", label: "nav.billing" },
];

const isCurrent = (href: string, path: string) => (href === "/" ? path === "/" : path.startsWith(href));

export function Layout({
  session,
  businessName,
  unreadReplies,
  children,
}: {
  session: DashboardSession;
  businessName: string | undefined;
  unreadReplies: number;
  children: ReactNode;
}) {
  const { t } = useI18n();
  const { path } = useLocation();
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        {t("nav.skip")}
      </a>
      <header className="topbar">
        <span className="brand">CallFlow</span>
        <span className="business">
          {businessName ?? "…"}
          <span className="role">{session.role === "admin" ? t("role.admin") : t("role.member")}</span>
        </span>
        <div className="account">
          <LanguageSwitch />
          {session.accountControls}
        </div>
      </header>
      <nav className="sidenav" aria-label={t("nav.label")}>
        <ul>
          {NAV.map((item) => (
            <li key={item.href}>
              <Link href={item.href} aria-current={isCurrent(item.href, path) ? "page" : undefined}>
                {t(item.label)}
                {item.href === "/replies" && unreadReplies > 0 ? (
                  <span className="badge" data-testid="unread-replies">
                    {unreadReplies}
                    <span className="visually-hidden"> {t("replies.unreadSuffix")}</span>
                  </span>
                ) : null}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}

/** The page's heading; focus moves to it on navigation so screen readers announce the page. */
export function PageTitle({ children, actions }: { children: string; actions?: ReactNode }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${children} · CallFlow`;
    if (document.activeElement === document.body || document.activeElement?.closest("nav")) {
      heading.current?.focus();
    }
  }, [children]);
  return (
    <div className="page-title">
      <h1 ref={heading} tabIndex={-1}>
        {children}
      </h1>
      {actions}
    </div>
  );
}
