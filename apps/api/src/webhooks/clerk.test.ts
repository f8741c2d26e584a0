// POST /webhooks/clerk on its own: Svix-signed organization events, each applied once.
import { migratedDatabase, type ScratchDatabase, testLanes } from "@callflow/db/testing";
import { Hono } from "hono";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clerkWebhook } from "./clerk.ts";

const SECRET = `whsec_${Buffer.from("callflow-clerk-webhook-test-secret").toString("base64")}`;

describe.each(testLanes())("POST /webhooks/clerk on %s", (lane) => {
  let scratch: ScratchDatabase;
  let app: Hono;
  beforeAll(async () => {
    scratch = await migratedDatabase(lane);
    app = new Hono().post("/webhooks/clerk", clerkWebhook(scratch.database, SECRET));
  });
  afterAll(() => scratch?.dispose());

  let sequence = 0;
  /** Posts an event signed as Clerk's Svix signs it; `id` is the svix-id. */
  const post = async (body: object, options: { id?: string; secret?: string } = {}) => {
    const payload = JSON.stringify(body);
    const id = options.id ?? `msg_clerk_test_${++sequence}`;
    const timestamp = new Date();
    const response = await app.request("/webhooks/clerk", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "svix-id": id,
        "svix-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
        "svix-signature": new Webhook(options.secret ?? SECRET).sign(id, timestamp, payload),
      },
      body: payload,
    });
    return { status: response.status, body: await response.json() };
  };
  const org = (id: string) =>
    scratch.database.withService((tx) =>
      tx.selectFrom("organizations").select(["id", "name"]).where("id", "=", id).executeTakeFirst(),
    );

  it("creates and renames an organization, answering ok", async () => {
    expect(await post({ type: "organization.created", data: { id: "org_clerk_one", name: "One" } })).toEqual({
      status: 200,
      body: { ok: true },
    });
    await post({ type: "organization.updated", data: { id: "org_clerk_one", name: "One, renamed" } });
    expect(await org("org_clerk_one")).toEqual({ id: "org_clerk_one", name: "One, renamed" });
  });

  it("applies an event once however often Clerk delivers it", async () => {
    await post({ type: "organization.created", data: { id: "org_clerk_two", name: "Two" } });
    await post({ type: "organization.updated", data: { id: "org_clerk_two", name: "Second" } }, { id: "msg_repeated" });
    await post({ type: "organization.updated", data: { id: "org_clerk_two", name: "Third" } });
    // A repeat of the second, delivered after the third: already applied, so nothing changes.
    expect(
      await post(
        { type: "organization.updated", data: { id: "org_clerk_two", name: "Second" } },
        { id: "msg_repeated" },
      ),
    ).toEqual({ status: 200, body: { ok: true } });
    expect(await org("org_clerk_two")).toEqual({ id: "org_clerk_two", name: "Third" });
  });

  it("keeps a name without its NUL characters, and an unnamed organization with an empty name", async () => {
    await post({ type: "organization.created", data: { id: "org_clerk_nul", name: "Ro\u0000sa" } });
    expect(await org("org_clerk_nul")).toEqual({ id: "org_clerk_nul", name: "Rosa" });
    await post({ type: "organization.created", data: { id: "org_clerk_unnamed" } });
    expect(await org("org_clerk_unnamed")).toEqual({ id: "org_clerk_unnamed", name: "" });
  });

  it.each([
    ["another event type", { type: "user.created", data: { id: "user_1" } }],
    ["an organization id with other characters", { type: "organization.created", data: { id: "org/../b" } }],
    ["an organization id of 65 characters", { type: "organization.created", data: { id: "o".repeat(65) } }],
  ])("acknowledges %s as ignored, changing nothing", async (_, event) => {
    expect(await post(event)).toEqual({ status: 200, body: { ignored: true } });
    expect(await org((event.data as { id: string }).id)).toBeUndefined();
  });

  it("refuses an event signed with another secret with 401 and the reason", async () => {
    const otherSecret = `whsec_${Buffer.from("someone-else").toString("base64")}`;
    const event = { type: "organization.created", data: { id: "org_clerk_forged", name: "Forged" } };
    expect(await post(event, { secret: otherSecret })).toEqual({
      status: 401,
      body: { error: "invalid or missing webhook signature" },
    });
    expect(await org("org_clerk_forged")).toBeUndefined();
  });

  it("answers 503 with the setting to set while no signing secret is configured", async () => {
    const unconfigured = new Hono().post("/webhooks/clerk", clerkWebhook(scratch.database, undefined));
    const response = await unconfigured.request("/webhooks/clerk", { method: "POST", body: "{}" });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      error: "Clerk webhooks are not configured (CLERK_WEBHOOK_SIGNING_SECRET)",
    });
  });
});
