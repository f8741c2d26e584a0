// Generated over the router: every procedure is checked for authentication, org and
// admin access, another org's ids and invalid input. Who may call what, and which field of
// a bad input is named, are stated here, not read from the router.
import { readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { FixtureIds } from "@callflow/db/testing";
import { ORG_A, ORG_B, testLanes } from "@callflow/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, failureOf, startTestApi, type TestApi } from "../test-api.ts";
import { EXAMPLES, procedures } from "./procedure-examples.ts";

/** What only an org's admins may do; every other procedure is open to any member of the org. */
const ADMIN_ONLY = [
  "templates.create",
  "templates.update",
  "templates.archive",
  "phoneNumbers.add",
  "phoneNumbers.remove",
  "settings.update",
  "billing.createCheckoutSession",
  "billing.createPortalSession",
];

/** For each procedure that takes input: an input with one bad field, and that field's path. */
const BAD_FIELD: Record<string, [input: (ids: FixtureIds) => unknown, field: string]> = {
  "calls.list": [() => ({ limit: 1000 }), "limit"],
  "calls.get": [() => ({ id: "not-a-uuid" }), "id"],
  "messages.list": [() => ({ limit: 0 }), "limit"],
  "messages.get": [() => ({ id: 42 }), "id"],
  "templates.list": [() => ({ limit: "ten" }), "limit"],
  "templates.get": [() => ({ id: "" }), "id"],
  "templates.create": [() => ({ name: "Voicemail", trigger: "hung_up", smsBody: "Thanks." }), "trigger"],
  "templates.update": [(ids) => ({ id: ids.template, name: 42 }), "name"],
  "templates.archive": [() => ({ id: "not-a-uuid" }), "id"],
  "templates.preview": [() => ({ id: "not-a-uuid" }), "id"],
  "contacts.list": [() => ({ limit: -1 }), "limit"],
  "contacts.get": [() => ({ id: null }), "id"],
  "contacts.optOut": [(ids) => ({ id: ids.contact, reason: 42 }), "reason"],
  "contacts.optIn": [() => ({ id: "x", reason: "asked again" }), "id"],
  "phoneNumbers.add": [() => ({ e164: "555-0177", label: "Second line" }), "e164"],
  "phoneNumbers.remove": [() => ({ id: "not-a-uuid" }), "id"],
  "settings.update": [() => ({ cooldown_seconds: -1 }), "cooldown_seconds"],
  "stats.overview": [() => ({ from: "yesterday" }), "from"],
  "stats.outcomes": [() => ({ from: "2026-02-01T00:00:00Z", to: "2026-01-01T00:00:00Z" }), "from"],
  "stats.daily": [() => ({ from: "2025-01-01T00:00:00Z", to: "2026-06-01T00:00:00Z" }), "to"],
  "replies.list": [() => ({ unreadOnly: "yes" }), "unreadOnly"],
  "replies.forCall": [() => ({ id: "not-a-uuid" }), "id"],
  "replies.markRead": [() => ({ ids: ["not-a-uuid"] }), "ids.0"],
  "billing.createCheckoutSession": [() => ({ plan: "platinum" }), "plan"],
};

const usesId = (path: string) =>
  JSON.stringify(EXAMPLES[path]?.(new Proxy({}, { get: () => "ID" }) as FixtureIds) ?? {}).includes('"ID"');

function call(api: TestApi, token: string | undefined, path: string, input: unknown) {
  const [area, name] = path.split(".") as [string, string];
  const procedure = procedures.find((p) => p.path === path);
  // biome-ignore lint/suspicious/noExplicitAny: generic dispatch over the typed client
  const client = api.client(token) as any;
  return client[area][name][procedure?.type === "mutation" ? "mutate" : "query"](input);
}

it("has an example input for every procedure, and a bad one for every procedure that takes input", () => {
  expect(procedures.filter((p) => !EXAMPLES[p.path]).map((p) => p.path)).toEqual([]);
  expect(procedures.filter((p) => p.takesInput && !BAD_FIELD[p.path]).map((p) => p.path)).toEqual([]);
});

it("declares in each procedure's meta the access stated here", () => {
  expect(procedures.map((p) => [p.path, p.access])).toEqual(
    procedures.map((p) => [p.path, ADMIN_ONLY.includes(p.path) ? "admin" : "org"]),
  );
  expect(ADMIN_ONLY.filter((path) => !procedures.some((p) => p.path === path))).toEqual([]);
});

it("never lets a router reach withService", async () => {
  const files = readdirSync(new URL("./router/", import.meta.url), { recursive: true, encoding: "utf8" }).filter(
    (file) => file.endsWith(".ts") && !file.endsWith(".test.ts"),
  );
  expect(files.length).toBeGreaterThan(5);
  for (const file of [...files.map((file) => `router/${file}`), "root.ts", "trpc.ts"]) {
    const text = await readFile(new URL(file, import.meta.url), "utf8");
    expect(text, file).not.toMatch(/withService|\.owner\b/);
  }
});

describe.each(testLanes())("every procedure on %s", (lane) => {
  let api: TestApi;
  let admin: string;
  let member: string;
  let noOrg: string;
  beforeAll(async () => {
    api = await startTestApi(lane);
    admin = api.token({ orgId: ORG_A, role: "admin" });
    member = api.token({ orgId: ORG_A, role: "member" });
    noOrg = api.token({ orgId: null });
  });
  afterAll(() => api?.close());

  describe.each(procedures.map(({ path }) => ({ path, adminOnly: ADMIN_ONLY.includes(path) })))(
    "$path (admin only: $adminOnly)",
    ({ path, adminOnly }) => {
      it("is UNAUTHORIZED without a token, and with a forged one", async () => {
        const input = EXAMPLES[path]?.(api.ids[ORG_A]);
        expect(await codeOf(call(api, undefined, path, input))).toBe("UNAUTHORIZED");
        const forged = `${admin.slice(0, -8)}AAAAAAAA`;
        expect(await codeOf(call(api, forged, path, input))).toBe("UNAUTHORIZED");
      });

      it("is FORBIDDEN without an active organization", async () => {
        expect(await codeOf(call(api, noOrg, path, EXAMPLES[path]?.(api.ids[ORG_A])))).toBe("FORBIDDEN");
      });

      it(`is ${adminOnly ? "FORBIDDEN" : "allowed"} for a member, and allowed for an admin`, async () => {
        const input = EXAMPLES[path]?.(api.ids[ORG_A]);
        const asMember = await codeOf(call(api, member, path, input));
        if (adminOnly) expect(asMember).toBe("FORBIDDEN");
        else expect(asMember).not.toMatch(/FORBIDDEN|UNAUTHORIZED|BAD_REQUEST/);
        expect(await codeOf(call(api, admin, path, input))).not.toMatch(/FORBIDDEN|UNAUTHORIZED|BAD_REQUEST/);
      });
    },
  );
  describe.each(procedures.filter((p) => usesId(p.path)))("$path with another org's ids", ({ path }) => {
    it("is NOT_FOUND for each of them", async () => {
      for (const id of Object.values(api.ids[ORG_B])) {
        const input = EXAMPLES[path]?.(new Proxy(api.ids[ORG_B], { get: () => id }) as FixtureIds);
        expect(await codeOf(call(api, admin, path, input)), `${path} with ${id}`).toBe("NOT_FOUND");
      }
    });
  });

  describe.each(procedures.filter((p) => p.takesInput))("$path with invalid input", ({ path }) => {
    it("is BAD_REQUEST, naming the field", async () => {
      expect(await codeOf(call(api, admin, path, 42))).toBe("BAD_REQUEST");
      const [input, field] = BAD_FIELD[path] ?? [() => ({}), "(no bad input stated)"];
      const failure = await failureOf(call(api, admin, path, input(api.ids[ORG_A])));
      expect(failure.code).toBe("BAD_REQUEST");
      expect(failure.issues.map((issue) => issue.path)).toContain(field);
    });
  });
});
