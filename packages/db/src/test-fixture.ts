// Two businesses with a row of their own in every public table, written as the system.
import { createHash } from "node:crypto";
import type { Database, SessionClaims } from "./database.ts";

export const ORG_A = "org_fixture_a";
export const ORG_B = "org_fixture_b";

export const adminOf = (org: string, format: "v1" | "v2" = "v2"): SessionClaims =>
  format === "v1"
    ? { sub: `user_admin_${org}`, org_id: org, org_role: "org:admin" }
    : { sub: `user_admin_${org}`, o: { id: org, rol: "admin" } };

export const memberOf = (org: string, format: "v1" | "v2" = "v2"): SessionClaims =>
  format === "v1"
    ? { sub: `user_member_${org}`, org_id: org, org_role: "org:member" }
    : { sub: `user_member_${org}`, o: { id: org, rol: "member" } };

const hex32 = (seed: string) => createHash("md5").update(seed).digest("hex");

export interface FixtureIds {
  phoneNumber: string;
  contact: string;
  call: string;
  template: string;
  job: string;
  message: string;
}

/** Returns the ids of each org's rows, by org. */
export async function insertTwoOrgFixture(database: Database): Promise<Record<string, FixtureIds>> {
  const ids: Record<string, FixtureIds> = {};
  await database.withService(async (tx) => {
    for (const [index, org] of [ORG_A, ORG_B].entries()) {
      const digit = index + 1;
      await tx
        .insertInto("organizations")
        .values({ id: org, name: `Fixture ${org}` })
        .execute();
      const number = await tx
        .insertInto("phone_numbers")
        .values({ organization_id: org, e164: `+1555010000${digit}`, label: "main" })
        .returning("id")
        .executeTakeFirstOrThrow();
      const contact = await tx
        .insertInto("contacts")
        .values({ organization_id: org, e164: `+1555020000${digit}` })
        .returning("id")
        .executeTakeFirstOrThrow();
      await tx
        .insertInto("consent_events")
        .values({
          organization_id: org,
          contact_id: contact.id,
          channel: "sms",
          action: "opt_in",
          source: "import",
          actor: "fixture",
        })
        .execute();
      const call = await tx
        .insertInto("call_logs")
        .values({
          organization_id: org,
          call_sid: `CA${hex32(`call ${org}`)}`,
          phone_number_id: number.id,
          contact_id: contact.id,
          from_number: `+1555020000${digit}`,
          to_number: `+1555010000${digit}`,
          status: "no-answer",
          outcome: "missed",
          duration_seconds: 0,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      const template = await tx
        .insertInto("templates")
        .values({ organization_id: org, name: "Missed call", trigger: "missed", sms_body: "Sorry we missed you!" })
        .returning("id")
        .executeTakeFirstOrThrow();
      const job = await tx
        .insertInto("message_jobs")
        .values({
          organization_id: org,
          call_log_id: call.id,
          contact_id: contact.id,
          template_id: template.id,
          to_number: `+1555020000${digit}`,
          decision: "send",
          reason: "missed call",
          sms_body: "Sorry we missed you!",
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      const message = await tx
        .insertInto("messages")
        .values({
          organization_id: org,
          job_id: job.id,
          channel: "sms",
          provider_sid: `SM${hex32(`message ${org}`)}`,
          to_number: `+1555020000${digit}`,
          status: "delivered",
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      await tx
        .insertInto("message_events")
        .values({
          organization_id: org,
          message_id: message.id,
          provider_sid: `SM${hex32(`message ${org}`)}`,
          status: "delivered",
          payload: JSON.stringify({ MessageStatus: "delivered" }),
        })
        .execute();
      await tx
        .insertInto("inbound_messages")
        .values({
          organization_id: org,
          contact_id: contact.id,
          channel: "sms",
          from_number: `+1555020000${digit}`,
          to_number: `+1555010000${digit}`,
          body: "Please call me back after 5",
          provider_sid: `SM${hex32(`inbound ${org}`)}`,
        })
        .execute();
      await tx.insertInto("subscriptions").values({ organization_id: org, plan: "starter" }).execute();
      await tx
        .insertInto("usage_periods")
        .values({
          organization_id: org,
          period_start: "2026-11-01T00:00:00Z",
          period_end: "2026-12-01T00:00:00Z",
          messages_sent: 1,
        })
        .execute();
      await tx
        .insertInto("webhook_receipts")
        .values({
          provider: "twilio",
          external_id: `CA${hex32(`call ${org}`)}:completed`,
          kind: "voice",
          organization_id: org,
        })
        .execute();
      ids[org] = {
        phoneNumber: number.id,
        contact: contact.id,
        call: call.id,
        template: template.id,
        job: job.id,
        message: message.id,
      };
    }
  });
  return ids;
}
