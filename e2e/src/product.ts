// The whole product as a user starts it: the API's composition root in its own process
// (local mode: embedded database, dev executor, Twilio sandbox), reached only over HTTP. On a
// PostgreSQL server (DATABASE_URL) it runs as a server deployment runs it: the API's build
// (apps/api/dist/main.mjs, built here first); in local mode from source under tsx, as `npm start`.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { apiEntry } from "@callflow/api/build";
import { API_NODE_FLAGS } from "@callflow/api/node-flags";
import { inheritedEnvironment } from "@callflow/db";
import { openDevTokenIssuer, TWILIO_SANDBOX_ACCOUNT_SID, TWILIO_SANDBOX_AUTH_TOKEN } from "@callflow/devstack";
import twilio from "twilio";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Product {
  url: string;
  /** The process started (with API_PROCESSES > 1: the cluster's primary). */
  pid: number;
  /** The dashboard's origin (WEB_PORT), same process as the API. */
  webUrl: string;
  dataDir: string;
  output: string[];
  token(orgId: string, role?: "admin" | "member"): string;
  trpc<T>(token: string, path: string, input?: unknown, method?: "GET" | "POST"): Promise<T>;
  /** Posts a signed voice status callback, as Twilio does when a call ends. */
  placeCall(
    from: string,
    to: string,
    outcome?: "missed" | "answered" | "voicemail",
    /** Twilio's retry of a callback posts the same CallSid again. */
    callSid?: string,
  ): Promise<{ callSid: string; status: number }>;
  /** Stops the process: SIGTERM (graceful) or SIGKILL (a crash). */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
}

/**
 * `count` callers of a burst, +1 737 NXX-X then the index in three digits, so that their last
 * digits cover every sandbox scenario. NANP exchanges start with 2-9: an exchange starting with
 * 0 or 1 is not a dialable number, and the after-call workflow rightly skips it.
 */
export function burstCallers(count: number): string[] {
  const exchangeAndBlock = String(2000 + Math.floor(Math.random() * 8000));
  return Array.from({ length: count }, (_, index) => `+1737${exchangeAndBlock}${String(index).padStart(3, "0")}`);
}

/** A webhook as Twilio posts it: the form, signed with the sandbox account's auth token. */
export function postTwilioWebhook(webhook: string, params: Record<string, string>, init: RequestInit = {}) {
  return fetch(webhook, {
    ...init,
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": twilio.getExpectedTwilioSignature(TWILIO_SANDBOX_AUTH_TOKEN, webhook, params),
    },
    body: new URLSearchParams(params),
  });
}

/** Polls `url`/readyz until it answers 200; throws with the process's output if it exits or `seconds` pass. */
export async function waitUntilReady(url: string, child: ChildProcess, output: string[], seconds: number) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the product exited at start:\n${output.join("")}`);
    // With a timeout: a request that reaches the port before the API's handler is attached
    // (start-callflow.ts binds first) is never answered.
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`the product was not ready in ${seconds} s:\n${output.join("")}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function startProduct(
  options: { dataDir?: string; port?: number; webPort?: number; env?: Record<string, string> } = {},
): Promise<Product> {
  const entry = await apiEntry(options.env?.DATABASE_URL ? "build" : "source");
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "callflow-e2e-"));
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const webPort = options.webPort ?? (await freePort());
  const webUrl = `http://127.0.0.1:${webPort}`;
  const output: string[] = [];
  // SIGUSR2 writes a diagnostic report (the main thread's JavaScript stack, even when it is
  // busy): what a product that does not stop was doing.
  const reportDir = mkdtempSync(join(tmpdir(), "callflow-e2e-report-"));
  const nodeArgs = [...API_NODE_FLAGS, "--report-on-signal", `--report-directory=${reportDir}`, ...entry];
  const child: ChildProcess = spawn(process.execPath, nodeArgs, {
    cwd: ROOT,
    env: {
      ...inheritedEnvironment(),
      PORT: String(port),
      DATA_DIR: dataDir,
      DB_PORT: "",
      PUBLIC_URL: url,
      WEB_PORT: String(webPort),
      WEB_ORIGIN: webUrl,
      LOG_LEVEL: "warn",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  await waitUntilReady(url, child, output, 90);

  const issuer = openDevTokenIssuer(dataDir);
  return {
    url,
    pid: child.pid as number,
    dataDir,
    output,
    webUrl,
    token: (orgId, role = "admin") =>
      issuer.issue({ orgId, role, userId: `user_e2e_${role}`, authorizedParty: webUrl }),
    async trpc<T>(token: string, path: string, input?: unknown, method: "GET" | "POST" = "GET") {
      const response =
        method === "GET"
          ? await fetch(
              `${url}/trpc/${path}${input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`}`,
              {
                headers: { authorization: `Bearer ${token}` },
              },
            )
          : await fetch(`${url}/trpc/${path}`, {
              method: "POST",
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
              body: JSON.stringify(input),
            });
      const body = (await response.json()) as { result?: { data: T }; error?: { message: string } };
      if (!body.result) throw new Error(`${path}: ${body.error?.message ?? response.status}`);
      return body.result.data;
    },
    async placeCall(from, to, outcome = "missed", callSid = `CA${crypto.randomUUID().replaceAll("-", "")}`) {
      const shape: Record<string, Record<string, string>> = {
        missed: { CallStatus: "no-answer", CallDuration: "0" },
        answered: { CallStatus: "completed", CallDuration: "95", AnsweredBy: "human" },
        voicemail: { CallStatus: "completed", CallDuration: "38", AnsweredBy: "machine_end_beep" },
      };
      const params: Record<string, string> = {
        AccountSid: TWILIO_SANDBOX_ACCOUNT_SID,
        CallSid: callSid,
        From: from,
        To: to,
        Direction: "inbound",
        ...shape[outcome],
      };
      const response = await postTwilioWebhook(`${url}/webhooks/twilio/voice`, params);
      return { callSid, status: response.status };
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null) child.kill(signal);
      const stopped = await Promise.race([
        exited.then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), 60_000)),
      ]);
      if (stopped) return;
      child.kill("SIGUSR2");
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      child.kill("SIGKILL");
      await exited;
      throw new Error(
        `the product did not stop within 60 s of ${signal}:\n${output.join("").slice(-4000)}\n${diagnosticReport(reportDir)}`,
      );
    },
  };
}

/** The JavaScript stack and open handles from the report SIGUSR2 wrote, if it wrote one. */
function diagnosticReport(directory: string): string {
  const file = readdirSync(directory).find((name) => name.endsWith(".json"));
  if (!file) return "(no diagnostic report was written: its event loop is blocked, or it ignores SIGUSR2)";
  const report = JSON.parse(readFileSync(join(directory, file), "utf8")) as {
    javascriptStack?: { message?: string; stack?: string[] };
    libuv?: Array<{ type: string; is_active: boolean; remoteEndpoint?: unknown; localEndpoint?: unknown }>;
  };
  const handles = (report.libuv ?? [])
    .filter((handle) => handle.is_active)
    .map(
      (handle) =>
        `${handle.type} ${JSON.stringify(handle.localEndpoint ?? "")} ${JSON.stringify(handle.remoteEndpoint ?? "")}`,
    );
  return [
    `main thread: ${report.javascriptStack?.message ?? ""}`,
    ...(report.javascriptStack?.stack ?? []).slice(0, 30),
    "active handles:",
    ...handles.slice(0, 40),
  ].join("\n");
}

/** The local Inngest executor in its own process (npm run -s executor), as API processes share it. */
export interface ExecutorProcess {
  url: string;
  output: string[];
  /** SIGTERM; resolves with its exit code. */
  stop(): Promise<number | null>;
}

export async function startExecutorProcess(env: Record<string, string>): Promise<ExecutorProcess> {
  const output: string[] = [];
  const child = spawn(process.execPath, ["--import", "tsx", "apps/api/src/cli/dev-executor.ts"], {
    cwd: ROOT,
    env: { ...inheritedEnvironment(), INNGEST_EXECUTOR_PORT: "0", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const url = /Inngest executor {2}(http:\/\/\S+)/.exec(output.join(""))?.[1];
    if (url) {
      return {
        url,
        output,
        async stop() {
          if (child.exitCode === null) child.kill("SIGTERM");
          return exited;
        },
      };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the executor did not start:\n${output.join("")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
