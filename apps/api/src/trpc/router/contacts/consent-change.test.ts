// contacts.optIn through the API: staff may opt a caller back in only when the opt-out was
// not the caller's own. A STOP they texted, or the carrier's 21610 (they texted STOP to the
// sender), gives FORBIDDEN with the reason; an opt-out staff recorded, staff may undo.
import { ORG_A, testLanes } from "@callflow/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failureOf, startTestApi, type TestApi } from "../../../test-api.ts";

describe.each(testLanes())("contacts.optIn on %s", (lane) => {
  let api: TestApi;
  let admin: ReturnType<TestApi["client"]>;
  let next = 400;
  beforeAll(async () => {
    api = await startTestApi(lane);
    admin = api.client(api.token({ orgId: ORG_A, role: "admin", userId: "user_admin_a" }));
  });
  afterAll(() => api?.close());

  /** A new caller whose latest ledger entry is an opt-out from `source`, written as the system writes it. */
  async function optedOutBy(source: "inbound_keyword" | "carrier") {
    return api.scratch.database.withService(async (tx) => {
      const contact = await tx
        .insertInto("contacts")
        .values({ organization_id: ORG_A, e164: `+1512555${String(next++).padStart(4, "0")}` })
        .returning("id")
        .executeTakeFirstOrThrow();
      await tx
        .insertInto("consent_events")
        .values({
          organization_id: ORG_A,
          contact_id: contact.id,
          channel: "sms",
          action: "opt_out",
          source,
          actor: source === "carrier" ? "twilio_21610" : `SM${"4".repeat(32)}`,
        })
        .execute();
      return contact.id;
    });
  }

  it.each([
    ["inbound_keyword", "the caller opted out by texting STOP: only they can opt back in, by texting START"],
    [
      "carrier",
      "the caller unsubscribed from this number at their carrier (Twilio error 21610): only they can opt back in, by texting START",
    ],
  ] as const)("refuses to undo an opt-out from %s, saying why, and records nothing", async (source, reason) => {
    const id = await optedOutBy(source);
    const refused = await failureOf(admin.contacts.optIn.mutate({ id, reason: "they called and asked" }));
    expect([refused.code, refused.message]).toEqual(["FORBIDDEN", reason]);
    const detail = await admin.contacts.get.query({ id });
    expect(detail.contact.opted_out_at).not.toBeNull();
    expect(detail.consent.map((event) => event.action)).toEqual(["opt_out"]);
  });

  it("still refuses after staff added an opt-out on top; once the caller texts START, staff may", async () => {
    const id = await optedOutBy("carrier");
    await admin.contacts.optOut.mutate({ id, reason: "asked on the phone too" });
    const refused = await failureOf(admin.contacts.optIn.mutate({ id, reason: "asked to hear from us again" }));
    expect(refused.code).toBe("FORBIDDEN");
    await api.scratch.database.withService((tx) =>
      tx
        .insertInto("consent_events")
        .values({
          organization_id: ORG_A,
          contact_id: id,
          channel: "sms",
          action: "opt_in",
          source: "inbound_keyword",
          actor: `SM${"6".repeat(32)}`,
        })
        .execute(),
    );
    await admin.contacts.optOut.mutate({ id, reason: "asked on the phone again" });
    const back = await admin.contacts.optIn.mutate({ id, reason: "asked to hear from us again" });
    expect(back.opted_out_at).toBeNull();
  });
});
