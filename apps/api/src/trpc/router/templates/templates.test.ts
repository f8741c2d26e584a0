// Templates as WhatsApp knows them: each carries the category Meta approved it in, set on
// create (utility unless said), changed on update, listed with the rest.
import { ORG_A, testLanes } from "@callflow/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failureOf, startTestApi, type TestApi } from "../../../test-api.ts";

describe.each(testLanes())("templates' WhatsApp category on %s", (lane) => {
  let api: TestApi;
  let admin: ReturnType<TestApi["client"]>;
  beforeAll(async () => {
    api = await startTestApi(lane);
    admin = api.client(api.token({ orgId: ORG_A, role: "admin" }));
  });
  afterAll(() => api?.close());

  it("is utility unless said, editable, and shown in the list", async () => {
    const utility = await admin.templates.create.mutate({
      name: "Voicemail",
      trigger: "voicemail",
      smsBody: "Got it.",
    });
    expect(utility.whatsapp_category).toBe("utility");
    const marketing = await admin.templates.create.mutate({
      name: "Offer",
      trigger: "answered",
      smsBody: "10% off your next visit.",
      whatsappContentSid: `HX${"f".repeat(32)}`,
      whatsappCategory: "marketing",
    });
    expect(marketing.whatsapp_category).toBe("marketing");
    const changed = await admin.templates.update.mutate({ id: utility.id, whatsappCategory: "authentication" });
    expect(changed.whatsapp_category).toBe("authentication");
    const listed = await admin.templates.list.query({});
    expect(Object.fromEntries(listed.items.map((t) => [t.name, t.whatsapp_category]))).toMatchObject({
      Voicemail: "authentication",
      Offer: "marketing",
    });
  });

  it("refuses a category WhatsApp does not have, naming the field", async () => {
    const failure = await failureOf(
      admin.templates.create.mutate({
        name: "Promo",
        trigger: "after_hours",
        smsBody: "We are closed.",
        whatsappCategory: "promotional" as "marketing",
      }),
    );
    expect(failure.code).toBe("BAD_REQUEST");
    expect(failure.issues.map((issue) => issue.path)).toEqual(["whatsappCategory"]);
    expect(failure.message).toMatch(/"utility", "marketing" or "authentication"/);
  });
});
