// Nothing is lost when a provider does not retry: Twilio does not retry a callback it got
// an answer to, so the call's event must survive Inngest being down when the callback
// came, and CallFlow stopping right after. The next start sends it, and the caller gets
// exactly one message.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { expect, it } from "vitest";
import { loadConfig } from "./config.ts";
import { type RunningCallflow, startCallflow } from "./start-callflow.ts";
import { DEMO_ORG, deliveryOf, missedCallParams, postVoiceCallback, randomCaller } from "./test-missed-call.ts";

async function missedCall(callflow: RunningCallflow, from: string) {
  const params = missedCallParams(from);
  const response = await postVoiceCallback(callflow, params);
  return { callSid: params.CallSid, status: response.status };
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
    tx
      .updateTable("organizations")
      .set({ quiet_hours: null, cooldown_seconds: 0 })
      .where("id", "=", DEMO_ORG)
      .execute(),
  );
  const placed = await missedCall(down, randomCaller());
  expect(placed.status).toBe(200);
  const pending = await sql<{ sent_at: Date | null }>`
    select sent_at from app.event_outbox where event_id = ${placed.callSid}`.execute(down.database.owner);
  expect(pending.rows).toEqual([{ sent_at: null }]);
  await down.stop();

  // The next start, with the local executor: the outbox's sweep sends the call's event.
  const up = await startCallflow({ ...loadConfig(base), webPort: null });
  try {
    await up.ready;
    expect(await deliveryOf(up, placed.callSid)).toEqual({
      job: { status: "delivered", final_channel: "whatsapp" },
      channels: ["whatsapp"],
    });
  } finally {
    await up.stop();
  }
}, 120_000);
