// A business's WhatsApp sender, when it is not the number callers ring: set through
// settings.update as "+1…" or "whatsapp:+1…", stored and shown in E.164, cleared with null.
import { ORG_A, testLanes } from "@callflow/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failureOf, startTestApi, type TestApi } from "../../test-api.ts";

describe.each(testLanes())("settings' WhatsApp sender on %s", (lane) => {
  let api: TestApi;
  let admin: ReturnType<TestApi["client"]>;
  beforeAll(async () => {
    api = await startTestApi(lane);
    admin = api.client(api.token({ orgId: ORG_A, role: "admin" }));
  });
  afterAll(() => api?.close());

  it("is the called number by default, set in either form, and cleared", async () => {
    expect((await admin.settings.get.query()).whatsapp_sender).toBeNull();
    const set = await admin.settings.update.mutate({ whatsapp_sender: "whatsapp:+15125550199" });
    expect(set.whatsapp_sender).toBe("+15125550199");
    expect((await admin.settings.get.query()).whatsapp_sender).toBe("+15125550199");
    expect((await admin.settings.update.mutate({ whatsapp_sender: null })).whatsapp_sender).toBeNull();
  });

  it("refuses what is not a number in international form", async () => {
    const failure = await failureOf(admin.settings.update.mutate({ whatsapp_sender: "5125550199" }));
    expect(failure.code).toBe("BAD_REQUEST");
    expect(failure.issues.map((issue) => issue.path)).toEqual(["whatsapp_sender"]);
  });
});
