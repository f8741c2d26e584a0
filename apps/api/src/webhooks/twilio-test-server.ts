// The Twilio webhooks for tests: real HTTP on a free port over a scratch database with the
// two-org fixture, behind a public URL of its own (as behind a tunnel or load balancer),
// with requests signed by the twilio SDK and events recorded instead of sent.
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Database, Tx } from "@callflow/db";
import {
  type FixtureIds,
  insertTwoOrgFixture,
  type LaneName,
  migratedDatabase,
  ORG_A,
  type ORG_B,
  type ScratchDatabase,
} from "@callflow/db/testing";
import type { OutboxEvent } from "@callflow/inngest";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { sql } from "kysely";
import twilio from "twilio";
import { createLog } from "../log.ts";
import type { TwilioForm } from "./twilio-signature.ts";
import { twilioWebhooks } from "./twilio-webhooks.ts";

export const AUTH_TOKEN = "test-twilio-auth-token-0123456789";
export const PUBLIC_URL = "https://hooks.callflow.test";
/** The fixture's business numbers (phone_numbers.e164) and a caller with a valid number. */
export const NUMBER_A = "+15550100001";
export const NUMBER_B = "+15550100002";
export const CALLER = "+15125550123";

export const newCallSid = () => `CA${randomBytes(16).toString("hex")}`;
export const newMessageSid = () => `SM${randomBytes(16).toString("hex")}`;

export interface PostOptions {
  /** Query string without "?", as Twilio would call it. */
  query?: string;
  /** Sign with this token instead of the right one. */
  token?: string;
  /** Sign this path and query (after /webhooks/twilio) instead of the one requested. */
  signedTarget?: string;
  /** Send this signature; null sends none. */
  signature?: string | null;
  /** Sign these parameters instead of the ones sent. */
  signedParams?: TwilioForm;
  contentType?: string;
  body?: string;
}

export interface TwilioTestServer {
  url: string;
  scratch: ScratchDatabase;
  ids: Record<typeof ORG_A | typeof ORG_B, FixtureIds>;
  /** The events the webhooks wrote to the outbox, in order. */
  events(): Promise<OutboxEvent[]>;
  clearEvents(): Promise<void>;
  /** What the webhooks logged for operators, one object a line, oldest first. */
  logs: Array<{ level: string; msg: string } & Record<string, unknown>>;
  post(path: string, params: TwilioForm, options?: PostOptions): Promise<Response>;
  /**
   * The same signed request, to the webhooks of another process over `database` (the scratch
   * database behind a wrapper, say one that dies between two statements).
   */
  postVia(database: Database, path: string, params: TwilioForm): Promise<Response>;
  /** Rows in every table a Twilio webhook writes. */
  rowCounts(): Promise<Record<WrittenTable, number>>;
  service<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const WRITTEN_TABLES = [
  "call_logs",
  "contacts",
  "consent_events",
  "inbound_messages",
  "message_events",
  "messages",
  "webhook_receipts",
] as const;
type WrittenTable = (typeof WRITTEN_TABLES)[number];

export async function startTwilioTestServer(lane: LaneName): Promise<TwilioTestServer> {
  const scratch = await migratedDatabase(lane);
  const ids = (await insertTwoOrgFixture(scratch.database)) as TwilioTestServer["ids"];
  const logs: TwilioTestServer["logs"] = [];
  const webhooksOver = (database: Database) =>
    new Hono().route(
      "/webhooks/twilio",
      twilioWebhooks({
        database,
        authToken: AUTH_TOKEN,
        publicUrl: PUBLIC_URL,
        log: createLog("debug", {}, (line) => {
          logs.push(JSON.parse(line));
          return true;
        }),
        // No relay: tests read what the webhooks wrote to the outbox.
        outbox: { wake() {} },
      }),
    );
  const app = webhooksOver(scratch.database);
  const http = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => http.once("listening", () => resolve()));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  const server: TwilioTestServer = {
    url,
    scratch,
    ids,
    async events() {
      const { rows } =
        await sql<OutboxEvent>`select name, event_id as id, data from app.event_outbox order by event_outbox.id`.execute(
          scratch.database.owner,
        );
      return rows;
    },
    async clearEvents() {
      await sql`delete from app.event_outbox`.execute(scratch.database.owner);
    },
    logs,
    post(path: string, params: TwilioForm, options: PostOptions = {}) {
      const target = options.query ? `${path}?${options.query}` : path;
      const signedUrl = `${PUBLIC_URL}/webhooks/twilio${options.signedTarget ?? target}`;
      const signature =
        options.signature !== undefined
          ? options.signature
          : twilio.getExpectedTwilioSignature(options.token ?? AUTH_TOKEN, signedUrl, options.signedParams ?? params);
      return fetch(`${url}/webhooks/twilio${target}`, signedRequest(signature, options, params));
    },
    postVia(database: Database, path: string, params: TwilioForm) {
      const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_URL}/webhooks/twilio${path}`, params);
      return Promise.resolve(
        webhooksOver(database).request(`${url}/webhooks/twilio${path}`, signedRequest(signature, {}, params)),
      );
    },
    async rowCounts() {
      const counts = {} as Record<WrittenTable, number>;
      for (const table of WRITTEN_TABLES) {
        const result = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(
          scratch.database.owner,
        );
        counts[table] = result.rows[0]?.n ?? 0;
      }
      return counts;
    },
    service: <T>(fn: (tx: Tx) => Promise<T>) => scratch.database.withService(fn),
    async close() {
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await scratch.dispose();
    },
  };
  return server;
}

function signedRequest(signature: string | null, options: PostOptions, params: TwilioForm): RequestInit {
  return {
    method: "POST",
    headers: {
      "content-type": options.contentType ?? "application/x-www-form-urlencoded",
      ...(signature === null ? {} : { "x-twilio-signature": signature }),
    },
    body: options.body ?? formBody(params),
  };
}

/** The reason a webhook gave for refusing a request. */
export async function errorOf(response: Response): Promise<string | undefined> {
  return ((await response.json()) as { error?: string }).error;
}

export function formBody(params: TwilioForm): string {
  const body = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    for (const item of Array.isArray(value) ? value : [value]) body.append(key, item);
  return body.toString();
}

/** A call, its message job and one sent message of an org, as the delivery function writes them. */
export async function insertSentMessage(
  server: TwilioTestServer,
  organizationId: string,
  message: { providerSid: string | null; status?: "pending" | "accepted" | "queued" },
): Promise<{ messageId: string; jobId: string }> {
  return server.service(async (tx) => {
    const call = await tx
      .insertInto("call_logs")
      .values({
        organization_id: organizationId,
        call_sid: newCallSid(),
        from_number: CALLER,
        to_number: organizationId === ORG_A ? NUMBER_A : NUMBER_B,
        status: "no-answer",
        outcome: "missed",
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    const job = await tx
      .insertInto("message_jobs")
      .values({
        organization_id: organizationId,
        call_log_id: call.id,
        to_number: CALLER,
        decision: "send",
        reason: "missed call",
        status: "sending",
        sms_body: "Sorry we missed you!",
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    const row = await tx
      .insertInto("messages")
      .values({
        organization_id: organizationId,
        job_id: job.id,
        channel: "whatsapp",
        provider_sid: message.providerSid,
        to_number: CALLER,
        status: message.status ?? "accepted",
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    return { messageId: row.id, jobId: job.id };
  });
}
