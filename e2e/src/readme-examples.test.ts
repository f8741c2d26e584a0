// The README's examples, run as written: each shell block marked `<!-- readme-example: name -->`
// is run by bash from the repository root against the product started as `npm start` starts
// it, with only the settings a reader would have exported (PORT, WEB_PORT, DATA_DIR). The
// production example starts the product itself, on a PostgreSQL server.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { inheritedEnvironment } from "@callflow/db";
import { bareDatabase, type ScratchDatabase, testLanes } from "@callflow/db/testing";
import { openDevTokenIssuer } from "@callflow/devstack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, type Product, startProduct, waitUntilReady } from "./product.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The marked shell blocks of a Markdown text, by name. */
export function readmeExamples(markdown: string): Map<string, string> {
  const examples = new Map<string, string>();
  for (const match of markdown.matchAll(/<!-- readme-example: ([\w-]+) -->\n```sh\n([\s\S]*?)\n```/g)) {
    examples.set(match[1] as string, match[2] as string);
  }
  return examples;
}

const examples = readmeExamples(readFileSync(`${ROOT}README.md`, "utf8"));

function runShell(script: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-euo", "pipefail", "-c", script], {
      cwd: ROOT,
      env: { ...inheritedEnvironment(), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("exit", (code) => resolve({ code, output }));
  });
}

describe("the README's examples, as written", () => {
  let product: Product;
  let readerEnv: Record<string, string>;
  beforeAll(async () => {
    const port = await freePort();
    const webPort = await freePort();
    // PUBLIC_URL and WEB_ORIGIN unset, as on a reader's machine: both default from the ports.
    product = await startProduct({ port, webPort, env: { PUBLIC_URL: "", WEB_ORIGIN: "" } });
    readerEnv = { PORT: String(port), WEB_PORT: String(webPort), DATA_DIR: product.dataDir };
    // The examples run against the demo data as seeded: Northside Plumbing (24/7) has no
    // quiet hours, so a reader's calls are sent at whatever hour they try them.
    const admin = openDevTokenIssuer(product.dataDir).issue({
      orgId: "org_demo_northside_plumbing",
      role: "admin",
      userId: "user_readme_admin",
      authorizedParty: `http://localhost:${webPort}`,
    });
    const settings = await product.trpc<{ quiet_hours: unknown }>(admin, "settings.get");
    expect(settings.quiet_hours).toBeNull();
  });
  afterAll(() => product?.stop());

  it("marks the examples it runs", () => {
    expect([...examples.keys()].sort()).toEqual(["checkout", "production", "traces", "try-it"]);
  });

  it("try-it: a call delivered on WhatsApp, one on SMS, then the calls through tRPC with a token", async () => {
    const { code, output } = await runShell(examples.get("try-it") as string, readerEnv);
    expect(code, output).toBe(0);
    expect(output).toContain("delivered by whatsapp");
    expect(output).toContain("delivered by sms");
    const json = output.slice(output.lastIndexOf('{"result"'));
    const body = JSON.parse(json.trim()) as { result: { data: { items: Array<{ from_number: string }> } } };
    expect(body.result.data.items.map((call) => call.from_number)).toEqual(["+15125550140", "+15125550147"]);
  }, 240_000);

  it("checkout: the business is on the plan it paid for", async () => {
    const { code, output } = await runShell(examples.get("checkout") as string, readerEnv);
    expect(code, output).toBe(0);
    expect(output).toMatch(/plan: Growth \(2500 messages a month\), subscription active, renews /);
  }, 120_000);

  it("traces: the call just simulated, as one tree from its webhook to the Twilio request", async () => {
    const { code, output } = await runShell(examples.get("traces") as string, readerEnv);
    expect(code, output).toBe(0);
    const callSid = /^call (CA[0-9a-f]{32}):/m.exec(output)?.[1];
    expect(callSid, output).toBeDefined();
    // One trace per voice callback of the call (Twilio sends no trace context); one holds the runs.
    expect(output).toMatch(new RegExp(`^call ${callSid}: [1-4] trace\\(s\\)$`, "m"));
    // The voice webhook that settled the call (its status, Dial or recording callback) is the root.
    expect(output).toMatch(/^ +\+0ms POST \/webhooks\/twilio\/voice\S* [\d.]+ms +status=200$/m);
    expect(output).toMatch(/^ +\+\d+ms {5}step decide /m);
    expect(output).toMatch(/ Twilio POST \/2010-04-01\/Accounts\/\{Sid\}\/Messages\.json .*status=201/);
  }, 240_000);
});

describe.each(testLanes().filter((lane) => lane === "postgres"))("the README's production example (%s)", (lane) => {
  let scratch: ScratchDatabase | undefined;
  afterAll(() => scratch?.dispose());

  it("production: the API's build starts on an empty database, migrates it and serves", async () => {
    scratch = await bareDatabase(lane);
    const port = await freePort();
    // Its own process group: the example's last command runs until stopped, as on a server.
    const child = spawn("bash", ["-euo", "pipefail", "-c", examples.get("production") as string], {
      cwd: ROOT,
      detached: true,
      env: {
        ...inheritedEnvironment(),
        DATABASE_URL: scratch.url as string,
        PORT: String(port),
        WEB_PORT: String(await freePort()),
        DATA_DIR: mkdtempSync(join(tmpdir(), "callflow-readme-production-")),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output: string[] = [];
    for (const stream of [child.stdout, child.stderr])
      stream.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      await waitUntilReady(`http://127.0.0.1:${port}`, child, output, 120);
      expect(output.join("")).toMatch(/"msg":"migrations applied"/);
      const calls = await fetch(`http://127.0.0.1:${port}/trpc/calls.list`);
      expect(calls.status).toBe(401);
    } finally {
      if (child.exitCode === null) process.kill(-(child.pid as number), "SIGTERM");
      await exited;
    }
  }, 180_000);
});
