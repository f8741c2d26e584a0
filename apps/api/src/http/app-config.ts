// What the dashboard must know before it can sign anyone in, read at runtime so one build
// serves every deployment: which sign-in to show, and Clerk's publishable key. Publishable
// values only: this answer is public.
import { Hono } from "hono";

export interface AppConfig {
  auth: "local" | "clerk";
  /** Clerk's publishable key (pk_…), given in cloud mode. */
  clerkPublishableKey?: string;
}

export function appConfigRoute(config: AppConfig) {
  const body: AppConfig =
    config.auth === "clerk" && config.clerkPublishableKey
      ? { auth: "clerk", clerkPublishableKey: config.clerkPublishableKey }
      : { auth: config.auth };
  return new Hono().get("/", (c) => {
    c.header("cache-control", "no-store");
    return c.json(body);
  });
}
