// Nothing is lost when a provider does not retry: Twilio does not retry a callback it got
// an answer to, so the call's event must survive Inngest being down when the callback
// came, and CallFlow stopping right after. The next start sends it, and the caller gets
// exactly one message.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TWILIO_SANDBOX_ACCOUNT_SID, TWILIO_SANDBOX_AUTH_TOKEN } from "@callflow/devstack";
import { sql } from "kysely";
import twilio from "twilio";
import { expect, it } from "vitest";
import { loadConfig } from "./config.ts";
import { type RunningCallflow, startCallflow } from "./start-callflow.ts";

const ORG = "org_demo_northside_plumbing";

async function missedCall(callflow: RunningCallflow, from: string) {
  const callSid = `CA${crypto.randomUUID().replaceAll("-", "")}`;
  const params = {
    AccountSid: TWILIO_SANDBOX_ACCOUNT_SID,
    CallSid: callSid,
    CallStatus: "no-answer",
    CallDuration: "0",
    From: from,
    To: "+15125550100",
  };
  const response = await fetch(`${callflow.apiUrl}/webhooks/twilio/voice`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": twilio.getExpectedTwilioSignature(
        TWILIO_SANDBOX_AUTH_TOKEN,
        `${callflow.publicUrl}/webhooks/twilio/voice`,
        params,
      ),
    },
    body: new URLSearchParams(params),
  });
  return { callSid, status: response.status };
}

it("delivers a call answered 200 while Inngest was down, after a restart, exactly once", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "callflow-outbox-"));
  const base = { DATA_DIR: dataDir, PORT: "0", WEB_PORT: "", LOG_LEVEL: "silent", DB_PORT: "" };
  // Inngest unreachable: a closed port, with keys as in Inngest Cloud.
  const down = await startCallflow({
    ...loadConfig({
      ...base,
      INNGEST_BASE_URL: "http://127.0.0.1:1",
      INNGEST_EVENT_KEY: "test",
      INNGEST_SIGNING_KEY: `signkey-test-${"ab".repeat(32)}`,
    }),
    webPort: null,
  });
  // No quiet hours or cooldown: the test passes at any hour.
  await down.database.withService((tx) =>
    tx.updateTable("organizations").set({ quiet_hours: null, cooldown_seconds: 0 }).where("id", "=", ORG).execute(),
  );
  const from = `+1737555${String(Math.floor(Math.random() * 1000)).padStart(3, "0")}7`;
  const placed = await missedCall(down, from);
  expect(placed.status).toBe(200);
  const pending = await sql<{ sent_at: Date | null }>`
    select sent_at from app.event_outbox where event_id = ${placed.callSid}`.execute(down.database.owner);
  expect(pending.rows).toEqual([{ sent_at: null }]);
  await down.stop();

  // The next start, with the local executor: the outbox's sweep sends the call's event.
  const up = await startCallflow({ ...loadConfig(base), webPort: null });
  try {
    await up.ready;
    let job: { status: string; final_channel: string | null } | undefined;
    for (let i = 0; i < 300 && job?.status !== "delivered"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      job = await up.database.withService((tx) =>
        tx
          .selectFrom("message_jobs as j")
          .innerJoin("call_logs as c", "c.id", "j.call_log_id")
          .select(["j.status", "j.final_channel"])
          .where("c.call_sid", "=", placed.callSid)
          .executeTakeFirst(),
      );
    }
    expect(job).toEqual({ status: "delivered", final_channel: "whatsapp" });
    const messages = await up.database.withService((tx) =>
      tx
        .selectFrom("messages as m")
        .innerJoin("message_jobs as j", "j.id", "m.job_id")
        .innerJoin("call_logs as c", "c.id", "j.call_log_id")
        .select("m.channel")
        .where("c.call_sid", "=", placed.callSid)
        .execute(),
    );
    expect(messages).toEqual([{ channel: "whatsapp" }]);
  } finally {
    await up.stop();
  }
}, 120_000);
