// The signed-in dashboard: one query cache and tRPC client per session (switching business
// starts afresh), live updates, the business's timezone for every date, and the routes.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { httpBatchLink, TRPCClientError } from "@trpc/client";
import { lazy, Suspense, useEffect, useRef, useState } from "react";
import type { DashboardSession } from "./auth/session.ts";
import { Layout } from "./components/layout.tsx";
import { Empty, Loading } from "./components/states.tsx";
import { useI18n } from "./i18n.tsx";
import { CallTimelinePage } from "./pages/call-timeline.tsx";
import { CallsPage } from "./pages/calls.tsx";
import { ContactPage, ContactsPage } from "./pages/contacts.tsx";
import { MessagesPage } from "./pages/messages.tsx";
import { OverviewPage } from "./pages/overview.tsx";
import { RepliesPage } from "./pages/replies.tsx";
import { SettingsPage } from "./pages/settings.tsx";
import { TemplatesPage } from "./pages/templates.tsx";
import { Link, useLocation } from "./router.tsx";
import { apiBase, trpc } from "./trpc.ts";

// Billing is opened rarely: its page is a chunk of its own, fetched on first visit.
const BillingPage = lazy(() => import("./pages/billing.tsx").then((module) => ({ default: module.BillingPage })));

// The API refuses batches of more than TRPC_MAX_BATCH calls (10 by default).
const MAX_BATCH = 10;
const POLL_MS = 1000;

const isClientError = (error: unknown) => {
  const status = error instanceof TRPCClientError ? (error.data as { httpStatus?: number } | undefined)?.httpStatus : 0;
  return !!status && status >= 400 && status < 500;
};

export function Dashboard({ session }: { session: DashboardSession }) {
  const [clients] = useState(() => ({
    queryClient: new QueryClient({
      defaultOptions: {
        queries: {
          // Freshness comes from the live probe, which invalidates what changed.
          staleTime: 30_000,
          refetchOnWindowFocus: false,
          retry: (failures, error) => !isClientError(error) && failures < 2,
        },
      },
    }),
    trpcClient: trpc.createClient({
      links: [
        httpBatchLink({
          url: `${apiBase}/trpc`,
          maxItems: MAX_BATCH,
          headers: async () => {
            const token = await session.getToken();
            return token ? { authorization: `Bearer ${token}` } : {};
          },
        }),
      ],
    }),
  }));
  return (
    <trpc.Provider client={clients.trpcClient} queryClient={clients.queryClient}>
      <QueryClientProvider client={clients.queryClient}>
        <Shell session={session} />
      </QueryClientProvider>
    </trpc.Provider>
  );
}

/**
 * Polls live.changes every second (a few index probes on the server); when the version
 * moves, refetches what is on screen. New calls and status changes show within ~1 s.
 */
function useLiveUpdates() {
  const utils = trpc.useUtils();
  const changes = trpc.live.changes.useQuery(undefined, { refetchInterval: POLL_MS, staleTime: 0 });
  const seen = useRef<string | null>(null);
  const version = changes.data?.version;
  useEffect(() => {
    if (!version) return;
    if (seen.current !== null && seen.current !== version) {
      void Promise.all([
        utils.calls.invalidate(),
        utils.messages.invalidate(),
        utils.stats.invalidate(),
        utils.replies.invalidate(),
        utils.contacts.invalidate(),
        // Usage this period moves with every message sent.
        utils.billing.invalidate(),
      ]);
    }
    seen.current = version;
  }, [version, utils]);
  return changes.data?.unreadReplies ?? 0;
}

function Shell({ session }: { session: DashboardSession }) {
  const { setTimezone } = useI18n();
  const settings = trpc.settings.get.useQuery();
  const unread = useLiveUpdates();
  const timezone = settings.data?.timezone;
  useEffect(() => {
    if (timezone) setTimezone(timezone);
  }, [timezone, setTimezone]);
  return (
    <Layout session={session} businessName={settings.data?.name} unreadReplies={unread}>
      <Routes session={session} />
    </Layout>
  );
}

const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const CALL = new RegExp(`^/calls/(${UUID})$`, "i");
const CONTACT = new RegExp(`^/contacts/(${UUID})$`, "i");

function Routes({ session }: { session: DashboardSession }) {
  const { t } = useI18n();
  const { path } = useLocation();
  const call = CALL.exec(path);
  const contact = CONTACT.exec(path);
  if (path === "/") return <OverviewPage />;
  if (path === "/calls") return <CallsPage />;
  if (call?.[1]) return <CallTimelinePage key={call[1]} id={call[1]} />;
  if (path === "/replies") return <RepliesPage />;
  if (path === "/messages") return <MessagesPage />;
  if (path === "/contacts") return <ContactsPage />;
  if (contact?.[1]) return <ContactPage key={contact[1]} id={contact[1]} />;
  if (path === "/templates") return <TemplatesPage />;
  if (path === "/settings") return <SettingsPage session={session} />;
  if (path === "/billing") {
    return (
      <Suspense fallback={<Loading />}>
        <BillingPage session={session} />
      </Suspense>
    );
  }
  return (
    <>
      <h1>{t("notFound.title")}</h1>
      <Empty title={t("notFound.hint")} />
      <Link href="/">{t("nav.overview")}</Link>
    </>
  );
}
