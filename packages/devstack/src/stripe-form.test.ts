import { describe, expect, it } from "vitest";
import { parseStripeForm, StripeFormError } from "./stripe-form.ts";

/** What the stripe SDK sends, parsed back: JSON through a round trip drops the null prototypes. */
const parsed = (text: string) => JSON.parse(JSON.stringify(parseStripeForm(text)));

describe("Stripe form parsing", () => {
  it.each([
    ["name=Acme+Plumbing", { name: "Acme Plumbing" }],
    ["metadata[organization_id]=org_1", { metadata: { organization_id: "org_1" } }],
    [
      "line_items[0][price]=price_1&line_items[0][quantity]=1&line_items[1][price]=price_2",
      { line_items: [{ price: "price_1", quantity: "1" }, { price: "price_2" }] },
    ],
    // Indexes may come in any order; the list follows the index.
    ["items[1]=b&items[0]=a", { items: ["a", "b"] }],
    ["expand[]=data.product&expand[]=customer", { expand: ["data.product", "customer"] }],
    ["expand[0]=data.product", { expand: ["data.product"] }],
    // Brackets arrive percent-encoded from some clients; names are decoded before they are read.
    [
      "metadata%5Bplan%5D=pro&success_url=http%3A%2F%2Fx%2Fok%3Fs%3D%7BCHECKOUT_SESSION_ID%7D",
      {
        metadata: { plan: "pro" },
        success_url: "http://x/ok?s={CHECKOUT_SESSION_ID}",
      },
    ],
    // Stripe's way to unset: an empty value.
    ["metadata=&description=", { metadata: "", description: "" }],
    ["flag", { flag: "" }],
    ["a=1&&b=2&", { a: "1", b: "2" }],
    // Repeated plain names: the last one counts, as Rack reads them.
    ["name=a&name=b", { name: "b" }],
    // Not canonical indexes: a hash, not a list.
    ["x[01]=a&x[1]=b", { x: { "01": "a", 1: "b" } }],
    // Keys that are special only on Object.prototype are plain keys here.
    ["metadata[constructor]=c&metadata[toString]=t", { metadata: { constructor: "c", toString: "t" } }],
    ["0=a", { 0: "a" }],
    ["", {}],
  ])("%s", (text, expected) => {
    expect(parsed(text)).toEqual(expected);
  });

  it("builds hashes without a prototype, so no key can reach Object.prototype", () => {
    const form = parseStripeForm("metadata[hasOwnProperty]=x");
    expect(Object.getPrototypeOf(form)).toBeNull();
    expect(Object.getPrototypeOf(form.metadata)).toBeNull();
  });

  it.each([
    ["metadata[__proto__][polluted]=yes", /Invalid parameter name/],
    ["__proto__[polluted]=yes", /Invalid parameter name/],
    ["metadata%5B__proto__%5D%5Bpolluted%5D=yes", /Invalid parameter name/],
    ["a[b]c=1", /Invalid parameter name/],
    ["a[b=1", /unbalanced bracket/],
    ["a]=1", /Invalid parameter name/],
    ["[a]=1", /Invalid parameter name/],
    ["a[[b]]=1", /unbalanced bracket/],
    ["a[][b]=1", /\[\] must come last/],
    ["name=x&name[first]=y", /Conflicting values for parameter "name"/],
    ["name[first]=y&name=x", /Conflicting values for parameter "name"/],
    ["items[]=a&items[0]=b", /Conflicting values/],
    ["items[0]=a&items[]=b", /Conflicting values/],
    ["line_items[5][price]=price_1", /indexes must run from 0 without gaps/],
    ["items[0]=a&items[2]=c", /indexes must run from 0 without gaps/],
    ["a[1][2][3][4][5][6]=deep", /nested deeper than 5 levels/],
    ["name=%E0%A4%A", /malformed percent-escape/],
    ["name%ZZ=1", /malformed percent-escape/],
  ])("refuses %s", (text, reason) => {
    expect(() => parseStripeForm(text)).toThrowError(reason);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("names the offending parameter in bracket notation", () => {
    try {
      parseStripeForm("line_items[0][price]=a&line_items[0][price][x]=b");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(StripeFormError);
      expect((error as StripeFormError).param).toBe("line_items[0][price]");
    }
  });

  it("refuses pathological inputs without walking them: many pairs, a long run of brackets, deep nesting", () => {
    expect(() => parseStripeForm(Array.from({ length: 1_001 }, (_, i) => `k${i}=v`).join("&"))).toThrowError(
      /at most 1000 name=value pairs/,
    );
    expect(() => parseStripeForm(`a${"[".repeat(200_000)}=1`)).toThrowError(/unbalanced bracket/);
    expect(() => parseStripeForm(`a${"[x]".repeat(100_000)}=1`)).toThrowError(/nested deeper/);
    expect(() => parseStripeForm(`a${"]".repeat(100_000)}=1`)).toThrowError(/Invalid parameter name/);
    expect(() => parseStripeForm(`${"%".repeat(100_000)}=1`)).toThrowError(/malformed percent-escape/);
    // A thousand distinct list entries is fine and comes out dense.
    const list = parseStripeForm(Array.from({ length: 1_000 }, (_, i) => `x[${999 - i}]=${999 - i}`).join("&"));
    expect(list.x).toHaveLength(1_000);
    expect((list.x as string[])[500]).toBe("500");
  });

  it("takes other limits when asked", () => {
    expect(() => parseStripeForm("a[b][c]=1", { maxDepth: 1, maxPairs: 10 })).toThrowError(/deeper than 1 levels/);
    expect(() => parseStripeForm("a=1&b=2&c=3", { maxDepth: 5, maxPairs: 2 })).toThrowError(/at most 2/);
  });
});
