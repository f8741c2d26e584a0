// Cloud mode's sign-in with Clerk's own components. Loaded only in cloud mode (a separate
// chunk), so local mode's first load carries none of Clerk. Clerk's getToken() keeps the
// minute-long session token fresh by itself.
import {
  ClerkProvider,
  OrganizationList,
  OrganizationSwitcher,
  SignedIn,
  SignedOut,
  SignIn,
  UserButton,
  useAuth,
} from "@clerk/clerk-react";
import { type ReactNode, useMemo } from "react";
import { useI18n } from "../i18n.tsx";
import type { DashboardSession } from "./session.ts";

export default function ClerkAuth({
  publishableKey,
  children,
}: {
  publishableKey: string;
  children: (session: DashboardSession) => ReactNode;
}) {
  return (
    <ClerkProvider publishableKey={publishableKey} afterSignOutUrl="/">
      <SignedOut>
        <main className="sign-in" id="main">
          <SignIn routing="hash" />
        </main>
      </SignedOut>
      <SignedIn>
        <ClerkSession>{children}</ClerkSession>
      </SignedIn>
    </ClerkProvider>
  );
}

function ClerkSession({ children }: { children: (session: DashboardSession) => ReactNode }) {
  const { t } = useI18n();
  const { getToken, orgId, orgRole, signOut } = useAuth();
  const session = useMemo<DashboardSession | null>(
    () =>
      orgId
        ? {
            mode: "clerk",
            orgId,
            role: orgRole === "org:admin" ? "admin" : "member",
            getToken: () => getToken(),
            signOut: () => void signOut(),
            accountControls: (
              <>
                <OrganizationSwitcher hidePersonal />
                <UserButton />
              </>
            ),
          }
        : null,
    [orgId, orgRole, getToken, signOut],
  );
  if (!session) {
    return (
      <main className="sign-in" id="main">
        <h1>{t("signIn.chooseBusiness")}</h1>
        <OrganizationList hidePersonal afterSelectOrganizationUrl="/" afterCreateOrganizationUrl="/" />
      </main>
    );
  }
  return <>{children(session)}</>;
}
