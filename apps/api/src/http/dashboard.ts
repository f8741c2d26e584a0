// The dashboard's origin: the built apps/web (Vite's dist) with the API's browser-facing
// routes on the same origin, so the dashboard needs no CORS and no API URL. Hashed assets
// never change under their name and are cached for good; index.html is revalidated each
// time so a new build is picked up; any other path is a client-side route (SPA fallback).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { serveStatic } from "@hono/node-server/serve-static";
import { Hono } from "hono";

export interface DashboardOptions {
  /** Vite's output directory (apps/web/dist). */
  distDir: string;
  /** The API app: /trpc/*, /app-config and /dev/* are handed to it as they come. */
  api: { fetch: (request: Request, env?: unknown) => Response | Promise<Response> };
}

const IMMUTABLE = "public, max-age=31536000, immutable";

export function createDashboard(options: DashboardOptions) {
  const { distDir } = options;
  const indexFile = join(distDir, "index.html");
  const app = new Hono();
  // With the Node bindings: the API sees the browser's address (limits, local sign-in).
  const toApi = (c: { req: { raw: Request }; env: unknown }) => options.api.fetch(c.req.raw, c.env);
  app.all("/trpc/*", toApi);
  app.all("/app-config", toApi);
  app.all("/dev/*", toApi);

  app.use("*", async (c, next) => {
    await next();
    c.header("x-content-type-options", "nosniff");
    c.header("referrer-policy", "same-origin");
  });
  app.use(
    "/assets/*",
    serveStatic({
      root: distDir,
      precompressed: true,
      onFound: (_path, c) => void c.header("cache-control", IMMUTABLE),
    }),
  );
  // A missing hashed asset is a stale page asking for an old build: say so, do not send HTML.
  app.get("/assets/*", (c) => c.text("not found: this asset is from another build; reload the page", 404));
  app.use(
    "*",
    serveStatic({
      root: distDir,
      precompressed: true,
      onFound: (_path, c) => void c.header("cache-control", "no-cache"),
    }),
  );
  const serveIndex = serveStatic({
    path: indexFile,
    onFound: (_path, c) => void c.header("cache-control", "no-cache"),
  });
  app.get("*", async (c, next) => {
    if (!existsSync(indexFile)) {
      return c.text("The dashboard is not built: run `npx --yes pnpm@10.34.8 --filter @callflow/web build`.", 503);
    }
    return (await serveIndex(c, next)) ?? c.text("not found", 404);
  });
  return app;
}
