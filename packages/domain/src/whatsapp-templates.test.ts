import { describe, expect, it } from "vitest";
import { whatsappCategorySchema, whatsappRefusalOf } from "./whatsapp-templates.ts";

describe("whatsappRefusalOf", () => {
  it.each<[string, "utility" | "marketing" | "authentication", string, boolean]>([
    ["marketing to a US number", "marketing", "+15125550147", true],
    ["marketing to a Canadian number (+1 too)", "marketing", "+14165550147", true],
    ["marketing to Spain", "marketing", "+34612000015", false],
    ["utility to a US number", "utility", "+15125550147", false],
    ["authentication to a US number", "authentication", "+15125550147", false],
  ])("%s", (_, category, to, refused) => {
    const reason = whatsappRefusalOf(category, to);
    if (refused) expect(reason).toMatch(/marketing templates to \+1 numbers \(Twilio 63049\)/);
    else expect(reason).toBeNull();
  });

  it("knows the three categories Meta approves templates in", () => {
    expect(whatsappCategorySchema.options).toEqual(["utility", "marketing", "authentication"]);
    expect(whatsappCategorySchema.safeParse("promotional").error?.issues[0]?.message).toMatch(/"utility", "marketing"/);
  });
});
