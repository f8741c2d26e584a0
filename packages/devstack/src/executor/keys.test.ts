// The executor's keys, as Inngest requires them (docs/SDK_SPEC.md 4.1.4): events on the
// event key, syncs, checkpoints and reads on the bearer of the hashed signing key. The real
// SDK, holding the right keys, still syncs, sends and runs.
import { createHash, randomBytes } from "node:crypto";
import { migratedDatabase, type ScratchDatabase, testLanes } from "@callflow/db/testing";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevExecutor, startDevExecutor } from "./start-executor.ts";
import { clientOf, endedRuns, newKeys, serveApp, syncApp, type TestKeys } from "./test-app.ts";

/** The bearer the SDK sends: the key's prefix and the sha256 of its hex-decoded secret. */
function bearerOf(signingKey: string) {
  const [, prefix, secret] = /^(signkey-\w+-)(.*)$/.exec(signingKey) as unknown as [string, string, string];
  return `Bearer ${prefix}${createHash("sha256").update(Buffer.from(secret, "hex")).digest("hex")}`;
}

describe.each(testLanes())("the executor's keys (%s)", (lane) => {
  let scratch: ScratchDatabase;
  let executor: DevExecutor;
  const keys = newKeys();
  const stranger: TestKeys = newKeys();

  beforeAll(async () => {
    scratch = await migratedDatabase(lane);
    executor = await startDevExecutor({ database: scratch.database, ...keys });
  });
  afterAll(async () => {
    await executor?.stop();
    await scratch?.dispose();
  });

  const post = (path: string, body: unknown, authorization?: string) =>
    fetch(`${executor.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(body),
    });

  it("lets the real SDK with the keys sync, send and run a function", async () => {
    const client = clientOf(executor.url, "keyed", keys);
    const fn = client.createFunction({ id: "echo", triggers: [{ event: "keys/echo" }] }, async ({ event, step }) =>
      step.run("echo", () => event.data.word),
    );
    const app = await serveApp(client, [fn]);
    try {
      expect((await syncApp(app.url)).status).toBe(200);
      const sent = await client.send({ name: "keys/echo", data: { word: "hello" } });
      expect(sent.ids).toHaveLength(1);
      const [run] = await endedRuns(executor, "keyed-echo");
      expect(run).toMatchObject({ status: "completed", output: "hello" });
    } finally {
      await app.stop();
    }
  });

  it("refuses events sent with another event key: 401, and no event stored", async () => {
    const response = await post(`/e/${stranger.eventKey}`, { name: "keys/echo", data: { word: "no" } });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: "unknown event key", status: 401 });
    const client = clientOf(executor.url, "keyed", { ...keys, eventKey: stranger.eventKey });
    await expect(client.send({ name: "keys/echo", data: { word: "no" } })).rejects.toThrow();
    const stored = await sql<{ n: number }>`
      select count(*)::int as n from devstack.inngest_events where payload->'data'->>'word' = 'no'`.execute(
      scratch.database.owner,
    );
    expect(stored.rows[0]?.n).toBe(0);
    expect((await executor.runs()).filter((run) => run.event.data.word === "no")).toEqual([]);
  });

  it("refuses a sync without the signing key's bearer, or with another key's: 401", async () => {
    const sync = { url: "http://127.0.0.1:9/api/inngest", appName: "intruder", functions: [] };
    for (const authorization of [undefined, "Bearer nonsense", bearerOf(stranger.signingKey), keys.signingKey]) {
      const response = await post("/fn/register", sync, authorization);
      expect(response.status, String(authorization)).toBe(401);
    }
    // With the bearer, a malformed sync is a 400 that says what is missing.
    const malformed = await post("/fn/register", { appName: "x" }, bearerOf(keys.signingKey));
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: string }).error).toMatch(/url.*functions|functions.*url/s);
    // The real SDK signed with another key: its PUT reports the executor's refusal.
    const client = clientOf(executor.url, "stranger", stranger);
    const app = await serveApp(client, [
      client.createFunction({ id: "fn", triggers: [{ event: "keys/x" }] }, async () => 1),
    ]);
    try {
      const response = await syncApp(app.url);
      expect(response.status).toBe(401);
      expect(await response.text()).toContain("hashed signing key");
    } finally {
      await app.stop();
    }
  });

  it("serves runs only to the signing key's bearer", async () => {
    for (const authorization of [undefined, bearerOf(stranger.signingKey)]) {
      const response = await fetch(`${executor.url}/runs`, authorization ? { headers: { authorization } } : {});
      expect(response.status).toBe(401);
      expect(JSON.stringify(await response.json())).not.toContain("keyed-echo");
    }
    const allowed = await fetch(`${executor.url}/runs`, { headers: { authorization: bearerOf(keys.signingKey) } });
    expect(allowed.status).toBe(200);
    expect(await allowed.json()).toEqual(
      expect.arrayContaining([expect.objectContaining({ functionId: "keyed-echo", status: "completed" })]),
    );
    const badLimit = await fetch(`${executor.url}/runs?limit=nope`, {
      headers: { authorization: bearerOf(keys.signingKey) },
    });
    expect(badLimit.status).toBe(400);
  });

  it("takes checkpoints only with the bearer", async () => {
    const checkpoint = { run_id: "01J00000000000000000000000", qi_id: "x", steps: [] };
    const path = `/v1/checkpoint/${checkpoint.run_id}/async`;
    expect((await post(path, checkpoint)).status).toBe(401);
    expect((await post(path, checkpoint, bearerOf(stranger.signingKey))).status).toBe(401);
    // With the bearer, a run it does not have is a 404, not a write.
    expect((await post(path, checkpoint, bearerOf(keys.signingKey))).status).toBe(404);
    expect((await post(path, { steps: "no" }, bearerOf(keys.signingKey))).status).toBe(400);
  });
});

describe("the executor's start", () => {
  it("requires both keys, the signing key in Inngest's format", async () => {
    const scratch = await migratedDatabase("pglite");
    try {
      const eventKey = "k";
      const signingKey = `signkey-test-${randomBytes(8).toString("hex")}`;
      await expect(startDevExecutor({ database: scratch.database, signingKey, eventKey: "" })).rejects.toThrow(
        /eventKey is required/,
      );
      for (const bad of ["", "not-a-key", "signkey-test-xyz", "signkey-test-abc"]) {
        await expect(startDevExecutor({ database: scratch.database, signingKey: bad, eventKey })).rejects.toThrow(
          /signkey-<env>-<hex>/,
        );
      }
    } finally {
      await scratch.dispose();
    }
  });
});
