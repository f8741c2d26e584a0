// A running API for tests: real HTTP on a free port, over a scratch database holding the
// two-org fixture, verifying tokens from a dev issuer with a key made for the test.
import { mkdtempSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type FixtureIds,
  insertTwoOrgFixture,
  type LaneName,
  migratedDatabase,
  type ORG_A,
  type ORG_B,
  type ScratchDatabase,
} from "@callflow/db/testing";
import { type DevTokenRequest, openDevTokenIssuer, startTwilioSandbox } from "@callflow/devstack";
import { createTwilioNumbers } from "@callflow/providers";
import { serve } from "@hono/node-server";
import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import { chooseAuth } from "./auth/auth-mode.ts";
import { type AppOptions, createApp } from "./http/app.ts";
import { createLog } from "./log.ts";
import type { AppRouter } from "./trpc/root.ts";

export const WEB_ORIGIN = "http://localhost:5173";
const TEST_ACCOUNT_SID = `AC${"7".repeat(32)}`;
const TEST_AUTH_TOKEN = "test-api-twilio-token";
/** Where connected numbers' Voice URLs point (no Twilio webhooks are served here). */
const TEST_PUBLIC_URL = "https://api.callflow.test";

export interface TestApi {
  url: string;
  scratch: ScratchDatabase;
  ids: Record<typeof ORG_A | typeof ORG_B, FixtureIds>;
  token(request: Partial<DevTokenRequest> & { orgId: string | null }): string;
  client(token?: string): ReturnType<typeof createTRPCClient<AppRouter>>;
  close(): Promise<void>;
}

export async function startTestApi(lane: LaneName, overrides: Partial<AppOptions> = {}): Promise<TestApi> {
  const scratch = await migratedDatabase(lane);
  const ids = (await insertTwoOrgFixture(scratch.database)) as TestApi["ids"];
  const dataDir = mkdtempSync(join(tmpdir(), "callflow-api-"));
  const { verifySession } = chooseAuth({ dataDir, authorizedParties: [WEB_ORIGIN] });
  const issuer = openDevTokenIssuer(dataDir);
  const twilio = await startTwilioSandbox({ accountSid: TEST_ACCOUNT_SID, authToken: TEST_AUTH_TOKEN });
  const app = createApp({
    database: scratch.database,
    verifySession,
    log: createLog("silent"),
    webOrigins: [WEB_ORIGIN],
    rateLimitPerMinute: 100_000,
    maxBodyBytes: 64 * 1024,
    maxBatchSize: 10,
    phoneNumberDirectory: createTwilioNumbers({
      accountSid: TEST_ACCOUNT_SID,
      authToken: TEST_AUTH_TOKEN,
      baseUrl: twilio.url,
      publicUrl: TEST_PUBLIC_URL,
    }),
    ...overrides,
  });
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    scratch,
    ids,
    token: (request) => issuer.issue({ authorizedParty: WEB_ORIGIN, ...request }),
    client: (token) =>
      createTRPCClient<AppRouter>({
        links: [httpLink({ url: `${url}/trpc`, headers: () => (token ? { authorization: `Bearer ${token}` } : {}) })],
      }),
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await twilio.stop();
      await scratch.dispose();
    },
  };
}

export interface Failure {
  code: string;
  message: string;
  issues: Array<{ path: string; message: string }>;
}

/** How a call failed: its tRPC error code ("OK" when it did not), message and input issues. */
export async function failureOf(call: Promise<unknown>): Promise<Failure> {
  try {
    await call;
    return { code: "OK", message: "", issues: [] };
  } catch (error) {
    if (!(error instanceof TRPCClientError)) throw error;
    const data = error.data as { code?: string; issues?: Failure["issues"] } | undefined;
    return { code: data?.code ?? "UNKNOWN", message: error.message, issues: data?.issues ?? [] };
  }
}

export const codeOf = async (call: Promise<unknown>) => (await failureOf(call)).code;
