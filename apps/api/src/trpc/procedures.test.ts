// Generated over the router: every procedure is checked for authentication, org and
// admin access, another org's ids and invalid input, without anyone listing it here
// except for the one valid input it takes (a missing example fails the first test).
import { readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { FixtureIds } from "@callflow/db/testing";
import { ORG_A, ORG_B, testLanes } from "@callflow/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, failureOf, startTestApi, type TestApi } from "../test-api.ts";
import { appRouter } from "./root.ts";
import type { ProcedureMeta } from "./trpc.ts";

type Example = (ids: FixtureIds) => unknown;

/** One valid input per procedure, built from an org's fixture ids. */
const EXAMPLES: Record<string, Example> = {
  "calls.list": () => ({ limit: 10 }),
  "calls.get": (ids) => ({ id: ids.call }),
  "messages.list": () => ({}),
  "messages.get": (ids) => ({ id: ids.message }),
  "templates.list": () => ({}),
  "templates.get": (ids) => ({ id: ids.template }),
  "templates.create": () => ({
    name: "Voicemail",
    trigger: "voicemail",
    smsBody: "Thanks for your message, {{caller_name}}.",
  }),
  "templates.update": (ids) => ({ id: ids.template, name: "Renamed" }),
  "templates.archive": (ids) => ({ id: ids.template }),
  "templates.preview": (ids) => ({ id: ids.template }),
  "contacts.list": () => ({}),
  "contacts.get": (ids) => ({ id: ids.contact }),
  "contacts.optOut": (ids) => ({ id: ids.contact, reason: "asked on the phone" }),
  "contacts.optIn": (ids) => ({ id: ids.contact, reason: "asked again by email" }),
  "phoneNumbers.list": () => undefined,
  "phoneNumbers.add": () => ({ e164: "+15125550177", label: "Second line" }),
  "phoneNumbers.remove": (ids) => ({ id: ids.phoneNumber }),
  "settings.get": () => undefined,
  "settings.update": () => ({ cooldown_seconds: 3600 }),
  "stats.overview": () => ({}),
  "stats.outcomes": () => ({}),
  "stats.daily": () => ({}),
  "replies.list": () => ({}),
  "replies.forCall": (ids) => ({ id: ids.call }),
  "replies.unreadCount": () => undefined,
  "replies.markRead": () => ({ all: true }),
  "live.changes": () => undefined,
};

const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, unknown>).map(
  ([path, procedure]) => {
    const def = (procedure as { _def: { type: "query" | "mutation"; meta?: ProcedureMeta; inputs: unknown[] } })._def;
    return { path, type: def.type, access: def.meta?.access ?? "public", takesInput: def.inputs.length > 0 };
  },
);
const usesId = (path: string) =>
  JSON.stringify(EXAMPLES[path]?.(new Proxy({}, { get: () => "ID" }) as FixtureIds) ?? {}).includes('"ID"');

function call(api: TestApi, token: string | undefined, path: string, input: unknown) {
  const [area, name] = path.split(".") as [string, string];
  const procedure = procedures.find((p) => p.path === path);
  // biome-ignore lint/suspicious/noExplicitAny: generic dispatch over the typed client
  const client = api.client(token) as any;
  return client[area][name][procedure?.type === "mutation" ? "mutate" : "query"](input);
}

it("has an example input for every procedure, and every procedure declares its access", () => {
  expect(procedures.filter((p) => !EXAMPLES[p.path]).map((p) => p.path)).toEqual([]);
  expect(procedures.filter((p) => p.access === "public").map((p) => p.path)).toEqual([]);
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

  describe.each(procedures)("$path ($access)", ({ path, access }) => {
    it("is UNAUTHORIZED without a token, and with a forged one", async () => {
      const input = EXAMPLES[path]?.(api.ids[ORG_A]);
      expect(await codeOf(call(api, undefined, path, input))).toBe("UNAUTHORIZED");
      const forged = `${admin.slice(0, -8)}AAAAAAAA`;
      expect(await codeOf(call(api, forged, path, input))).toBe("UNAUTHORIZED");
    });

    it("is FORBIDDEN without an active organization", async () => {
      expect(await codeOf(call(api, noOrg, path, EXAMPLES[path]?.(api.ids[ORG_A])))).toBe("FORBIDDEN");
    });

    it(`is ${access === "admin" ? "FORBIDDEN" : "allowed"} for a member`, async () => {
      const code = await codeOf(call(api, member, path, EXAMPLES[path]?.(api.ids[ORG_A])));
      if (access === "admin") expect(code).toBe("FORBIDDEN");
      else expect(code).not.toMatch(/FORBIDDEN|UNAUTHORIZED|BAD_REQUEST/);
    });
  });
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
      if (!usesId(path) && !path.endsWith(".list")) return;
      const bad = { ...(EXAMPLES[path]?.(api.ids[ORG_A]) as object), id: "not-a-uuid", limit: 1000 };
      const failure = await failureOf(call(api, admin, path, bad));
      expect(failure.code).toBe("BAD_REQUEST");
      expect(failure.issues.map((issue) => issue.path)).toContain(usesId(path) ? "id" : "limit");
    });
  });
});
