// The standalone executor (src/cli/dev-executor.ts) in its own process, serving functions
// of apps in another process (this one), on the PostgreSQL server and on the embedded
// database through its socket; runs go to the URL of the app's latest sync.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { inheritedEnvironment, startEmbeddedDatabase } from "@callflow/db";
import { bareDatabase, type LaneName, testLanes } from "@callflow/db/testing";
import { clientOf, eventually, newKeys, serveApp, syncApp, type TestKeys } from "@callflow/devstack/testing";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const CLI = "apps/api/src/cli/dev-executor.ts";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface CliProcess {
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

function spawnCli(env: Record<string, string>): CliProcess {
  const output: string[] = [];
  const child = spawn(process.execPath, ["--import", "tsx", CLI], {
    cwd: ROOT,
    env: { PATH: inheritedEnvironment().PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output, exited };
}

/** A database for the executor process: a server scratch database, or the embedded one served on a socket. */
async function databaseFor(lane: LaneName) {
  if (lane === "postgres") {
    const scratch = await bareDatabase("postgres");
    return { url: scratch.url as string, poolSize: "4", dispose: () => scratch.dispose() };
  }
  // A free port may be taken by another test file before the socket binds it: try another.
  for (let attempt = 1; ; attempt++) {
    try {
      const embedded = await startEmbeddedDatabase({
        dataDir: mkdtempSync(join(tmpdir(), "callflow-executor-cli-")),
        port: await freePort(),
      });
      // PGlite's socket serves one connection at a time.
      return { url: embedded.url as string, poolSize: "1", dispose: () => embedded.stop() };
    } catch (error) {
      if (attempt >= 5 || (error as { code?: string }).code !== "EADDRINUSE") throw error;
    }
  }
}

const bearerOf = (keys: TestKeys) => {
  const [, prefix, secret] = /^(signkey-\w+-)(.*)$/.exec(keys.signingKey) as unknown as [string, string, string];
  return `Bearer ${prefix}${createHash("sha256").update(Buffer.from(secret, "hex")).digest("hex")}`;
};

describe.each(testLanes())("the executor as its own process (%s)", (lane) => {
  it("serves apps in another process, runs to the latest sync's URL, and stops cleanly on SIGTERM", async () => {
    const database = await databaseFor(lane);
    const keys = newKeys();
    const cli = spawnCli({
      DATABASE_URL: database.url,
      DATABASE_POOL_SIZE: database.poolSize,
      INNGEST_EXECUTOR_PORT: "0",
      INNGEST_EVENT_KEY: keys.eventKey,
      INNGEST_SIGNING_KEY: keys.signingKey,
      LOG_LEVEL: "info",
    });
    const apps: Array<Awaited<ReturnType<typeof serveApp>>> = [];
    try {
      const url = await eventually(async () => {
        if (cli.child.exitCode !== null) throw new Error(`the executor exited:\n${cli.output.join("")}`);
        return /Inngest executor {2}(http:\/\/\S+)/.exec(cli.output.join(""))?.[1];
      }, 60_000);
      const served: string[] = [];
      // Two API processes of the same app share the executor, as they would share Inngest.
      const client = clientOf(url, "shared", keys);
      const fn = client.createFunction(
        { id: "greet", triggers: [{ event: "shared/greet" }] },
        async ({ event, step }) =>
          step.run("greet", () => {
            served.push(event.data.name);
            return `hello ${event.data.name}`;
          }),
      );
      const first = await serveApp(client, [fn]);
      apps.push(first);
      expect((await syncApp(first.url)).status).toBe(200);
      const runs = async () => {
        const response = await fetch(`${url}/runs`, { headers: { authorization: bearerOf(keys) } });
        expect(response.status).toBe(200);
        return (await response.json()) as Array<{ status: string; output: unknown }>;
      };
      await client.send({ name: "shared/greet", data: { name: "ana" } });
      await eventually(async () => (await runs()).some((run) => run.output === "hello ana"), 30_000);
      const firstCalls = first.calls();
      expect(firstCalls).toBeGreaterThan(0);

      const second = await serveApp(client, [fn]);
      apps.push(second);
      expect((await syncApp(second.url)).status).toBe(200);
      await client.send({ name: "shared/greet", data: { name: "bo" } });
      await eventually(async () => (await runs()).some((run) => run.output === "hello bo"), 30_000);
      expect(second.calls()).toBeGreaterThan(0);
      expect(first.calls()).toBe(firstCalls);
      expect(served).toEqual(["ana", "bo"]);
      expect((await fetch(`${url}/runs`)).status).toBe(401);

      cli.child.kill("SIGTERM");
      expect(await cli.exited).toBe(0);
      expect(cli.output.join("")).toContain('"msg":"stopped"');
    } finally {
      if (cli.child.exitCode === null) cli.child.kill("SIGKILL");
      await cli.exited;
      for (const app of apps) await app.stop();
      await database.dispose();
    }
  });
});

describe("the executor process's settings", () => {
  it.each([
    [
      { INNGEST_SIGNING_KEY: `signkey-test-${randomBytes(3).toString("hex")}x` },
      "INNGEST_SIGNING_KEY must look like signkey-<env>-<hex>",
    ],
    [{ INNGEST_SIGNING_KEY: `signkey-test-${randomBytes(3).toString("hex")}` }, "set INNGEST_EVENT_KEY too"],
    [{}, "set INNGEST_EVENT_KEY and INNGEST_SIGNING_KEY"],
  ])("refuses to start without its keys, naming them (%j)", async (keys, reason) => {
    const cli = spawnCli({ DATABASE_URL: "postgresql://postgres@127.0.0.1:9/postgres", ...keys });
    expect(await cli.exited).toBe(2);
    expect(cli.output.join("")).toContain(reason);
  });
});
