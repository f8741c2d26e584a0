import type { ReactNode } from "react";

/** What the dashboard needs from a signed-in session, whichever sign-in made it. */
export interface DashboardSession {
  mode: "local" | "clerk";
  orgId: string;
  role: "admin" | "member";
  /** A fresh session token (they live about a minute); null when signed out. */
  getToken: () => Promise<string | null>;
  signOut: () => void;
  /** The header's account controls: Clerk's organization switcher and user menu, or local ones. */
  accountControls: ReactNode;
}

export interface AppConfig {
  auth: "local" | "clerk";
  clerkPublishableKey?: string;
}
