// The product in its own process, so a load generator in the benchmark's process does not share
// its event loop: on a PostgreSQL server (DATABASE_URL) as a server deployment runs it, the API's
// build (`node API_NODE_FLAGS apps/api/dist/main.mjs`, built here first); in local mode as
// `npm start` runs it (apps/api/src/main.ts under tsx). Reached over HTTP only; its pid is for
// CPU and memory accounting.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ApiRun, apiEntry } from "@callflow/api/build";
import { apiWorkerPids } from "@callflow/api/cluster-workers";
import { API_NODE_FLAGS } from "@callflow/api/node-flags";
import { inheritedEnvironment } from "@callflow/db";
import { openDevTokenIssuer } from "@callflow/devstack";
import { sleep } from "./measure.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** The dashboard origin tokens are issued for (the API's authorized party). */
export const WEB_ORIGIN = "http://localhost:5173";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * `node --cpu-prof` for the product: Node 20 refuses --cpu-prof in NODE_OPTIONS, so a preload
 * (written into the directory) starts the V8 profiler and writes `api-<pid>.cpuprofile` on exit.
 */
export function cpuProfilePreload(directory: string): string {
  mkdirSync(directory, { recursive: true });
  const preload = join(directory, "cpu-profile-preload.cjs");
  writeFileSync(
    preload,
    `const inspector = require("node:inspector");
const { writeFileSync } = require("node:fs");
const session = new inspector.Session();
session.connect();
session.post("Profiler.enable");
session.post("Profiler.setSamplingInterval", { interval: 500 });
session.post("Profiler.start");
process.on("exit", () => {
  session.post("Profiler.stop", (error, result) => {
    if (!error) writeFileSync(${JSON.stringify(directory)} + "/api-" + process.pid + ".cpuprofile", JSON.stringify(result.profile));
  });
});
`,
  );
  return preload;
}

export type ProductProcess = Awaited<ReturnType<typeof startProductProcess>>;

/** Starts the product with `env` over the defaults below and waits for /readyz. */
export async function startProductProcess(
  env: Record<string, string> = {},
  run: ApiRun = env.DATABASE_URL ? "build" : "source",
) {
  const dataDir = mkdtempSync(join(tmpdir(), "callflow-bench-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const output: string[] = [];
  const child = spawn(process.execPath, [...API_NODE_FLAGS, ...(await apiEntry(run))], {
    cwd: ROOT,
    env: {
      ...inheritedEnvironment(),
      PORT: String(port),
      WEB_PORT: "0",
      WEB_ORIGIN,
      PUBLIC_URL: url,
      DATA_DIR: dataDir,
      DB_PORT: "",
      LOG_LEVEL: "warn",
      RATE_LIMIT_PER_MINUTE: "1000000000",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const stream of [child.stdout, child.stderr])
    stream.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 120_000;
  // With a timeout: the port is bound before the API's handler is attached (start-callflow.ts),
  // and a request that arrives in between is never answered.
  const ready = () =>
    fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.ok,
      () => false,
    );
  while (!(await ready())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the product did not start:\n${output.join("")}`);
    }
    await sleep(200);
  }
  const issuer = openDevTokenIssuer(dataDir);
  const token = (orgId: string, role: "admin" | "member" = "admin") =>
    issuer.issue({ orgId, role, userId: `user_bench_${role}`, authorizedParty: WEB_ORIGIN });
  return {
    url,
    /** The process started; with API_PROCESSES > 1 the cluster's primary (its workers: workerPids). */
    pid: child.pid as number,
    workerPids: () => apiWorkerPids(child.pid as number),
    dataDir,
    output,
    token,
    /** A tRPC mutation (POST) or, with `query`, a query (GET); throws on an error answer. */
    async trpc<T>(orgId: string, path: string, input: unknown, query = false): Promise<T> {
      const headers = { authorization: `Bearer ${token(orgId)}`, "content-type": "application/json" };
      const response = query
        ? await fetch(`${url}/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers })
        : await fetch(`${url}/trpc/${path}`, { method: "POST", headers, body: JSON.stringify(input) });
      const body = (await response.json()) as { result?: { data: T }; error?: { message: string } };
      if (!body.result) throw new Error(`${orgId} ${path}: ${body.error?.message ?? response.status}`);
      return body.result.data;
    },
    stop,
  };
}
