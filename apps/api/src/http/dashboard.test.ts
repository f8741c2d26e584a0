// The dashboard's HTTP surface: runtime config, local sign-in (only with a dev issuer), and
// the static origin that serves the built app beside the API's browser routes.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ORG_A, ORG_B, testLanes } from "@callflow/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chooseAuth } from "../auth/auth-mode.ts";
import { startTestApi, type TestApi, WEB_ORIGIN } from "../test-api.ts";
import { createDashboard } from "./dashboard.ts";

const post = (url: string, body: unknown) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

describe.each(testLanes())("dashboard HTTP on %s", (lane) => {
  describe("local mode (dev issuer)", () => {
    let api: TestApi;
    beforeAll(async () => {
      // The sign-in's tokens come from the same issuer the API verifies with.
      const auth = chooseAuth({
        dataDir: mkdtempSync(join(tmpdir(), "callflow-sign-in-")),
        authorizedParties: [WEB_ORIGIN],
      });
      if (!auth.devIssuer) throw new Error("no Clerk keys given: a dev issuer is expected");
      api = await startTestApi(lane, {
        verifySession: auth.verifySession,
        devIssuer: { issuer: auth.devIssuer, authorizedParty: WEB_ORIGIN },
      });
    });
    afterAll(() => api?.close());

    it("tells the dashboard to sign in locally", async () => {
      const response = await fetch(`${api.url}/app-config`);
      expect(await response.json()).toEqual({ auth: "local" });
      expect(response.headers.get("cache-control")).toBe("no-store");
    });

    it("lists the organizations with their names, and the roles", async () => {
      const body = (await (await fetch(`${api.url}/dev/sign-in`)).json()) as {
        organizations: Array<{ id: string; name: string }>;
        roles: string[];
      };
      expect(body.organizations.map((organization) => organization.id).sort()).toEqual([ORG_A, ORG_B].sort());
      expect(body.organizations.every((organization) => organization.name.startsWith("Fixture"))).toBe(true);
      expect(body.roles).toEqual(["admin", "member"]);
    });

    it("signs in as a role of an organization with a short-lived token the API accepts", async () => {
      const response = await post(`${api.url}/dev/sign-in`, { orgId: ORG_A, role: "member" });
      expect(response.status).toBe(200);
      const { token, expiresAt } = (await response.json()) as { token: string; expiresAt: string };
      const lifetime = new Date(expiresAt).getTime() - Date.now();
      expect(lifetime).toBeGreaterThan(50_000);
      expect(lifetime).toBeLessThanOrEqual(60_000);
      const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as {
        azp: string;
        o: { id: string; rol: string };
      };
      expect(claims).toMatchObject({ azp: WEB_ORIGIN, o: { id: ORG_A, rol: "member" } });
      const settings = await api.client(token).settings.get.query();
      expect(settings.id).toBe(ORG_A);
    });

    it("refuses bad requests with a 4xx and a reason", async () => {
      const badRole = await post(`${api.url}/dev/sign-in`, { orgId: ORG_A, role: "owner" });
      expect(badRole.status).toBe(400);
      expect(((await badRole.json()) as { error: string }).error).toMatch(/role/);
      const notJson = await post(`${api.url}/dev/sign-in`, "{nope");
      expect(notJson.status).toBe(400);
      const badOrg = await post(`${api.url}/dev/sign-in`, { orgId: "org_'; drop table x", role: "admin" });
      expect(badOrg.status).toBe(400);
      const unknown = await post(`${api.url}/dev/sign-in`, { orgId: "org_nobody", role: "admin" });
      expect(unknown.status).toBe(404);
      expect(((await unknown.json()) as { error: string }).error).toMatch(/no organization org_nobody/);
    });
  });

  describe("cloud mode (no dev issuer)", () => {
    let api: TestApi;
    beforeAll(async () => {
      api = await startTestApi(lane, { clerkPublishableKey: "pk_test_Y2FsbGZsb3cuZXhhbXBsZSQ" });
    });
    afterAll(() => api?.close());

    it("has no local sign-in", async () => {
      expect((await fetch(`${api.url}/dev/sign-in`)).status).toBe(404);
      expect((await post(`${api.url}/dev/sign-in`, { orgId: ORG_A, role: "admin" })).status).toBe(404);
    });

    it("gives Clerk's publishable key and nothing else", async () => {
      expect(await (await fetch(`${api.url}/app-config`)).json()).toEqual({
        auth: "clerk",
        clerkPublishableKey: "pk_test_Y2FsbGZsb3cuZXhhbXBsZSQ",
      });
    });
  });
});

describe("dashboard origin", () => {
  const dist = mkdtempSync(join(tmpdir(), "callflow-web-dist-"));
  mkdirSync(join(dist, "assets"));
  writeFileSync(join(dist, "index.html"), "<!doctype html><title>CallFlow</title>");
  writeFileSync(join(dist, "assets", "index-abc123.js"), "console.log('app')");
  writeFileSync(join(dist, "favicon.svg"), "<svg/>");
  const seen: string[] = [];
  const dashboard = createDashboard({
    distDir: dist,
    api: {
      fetch: (request) => {
        seen.push(new URL(request.url).pathname);
        return Response.json({ api: true });
      },
    },
  });

  it("caches hashed assets for good and revalidates index.html", async () => {
    const asset = await dashboard.request("/assets/index-abc123.js");
    expect(asset.status).toBe(200);
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(asset.headers.get("content-type")).toMatch(/javascript/);
    const index = await dashboard.request("/");
    expect(await index.text()).toContain("<title>CallFlow</title>");
    expect(index.headers.get("cache-control")).toBe("no-cache");
    expect((await dashboard.request("/favicon.svg")).headers.get("cache-control")).toBe("no-cache");
  });

  it("answers client-side routes with index.html, and a missing asset with 404", async () => {
    const route = await dashboard.request("/calls/7f1c1f7e-0000-4000-8000-000000000000");
    expect(route.status).toBe(200);
    expect(await route.text()).toContain("<title>CallFlow</title>");
    expect((await dashboard.request("/assets/index-old999.js")).status).toBe(404);
  });

  it("hands the API's browser routes to the API", async () => {
    for (const path of ["/trpc/calls.list", "/app-config", "/dev/sign-in"]) {
      expect(await (await dashboard.request(path)).json()).toEqual({ api: true });
    }
    expect(seen).toEqual(["/trpc/calls.list", "/app-config", "/dev/sign-in"]);
  });

  it("never serves files outside its directory", async () => {
    const traversal = await dashboard.request("/..%2f..%2fetc/passwd");
    expect(await traversal.text()).not.toContain("root:");
    expect((await dashboard.request("/../package.json")).headers.get("content-type")).not.toMatch(/json/);
  });

  it("says how to build the dashboard when it is not built", async () => {
    const empty = createDashboard({ distDir: join(dist, "nothing-here"), api: { fetch: () => new Response() } });
    const response = await empty.request("/");
    expect(response.status).toBe(503);
    expect(await response.text()).toMatch(/--filter @callflow\/web build/);
  });
});
