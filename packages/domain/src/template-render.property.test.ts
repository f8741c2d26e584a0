// Properties of placeholder parsing over generated and adversarial text: it never throws,
// it renders well-formed templates exactly, and it stays linear on inputs built to make a
// backtracking parser explode.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  renderTemplate,
  type TemplateVariableName,
  templatePlaceholders,
  templateVariableNames,
} from "./template-render.ts";

/** One call's values, written here: what a rendered template must contain. */
const values: Record<TemplateVariableName, string> = {
  business_name: "Rivera Plumbing",
  caller_number: "+15125550100",
  caller_name: "Ana",
  call_time: "Sun 3:05 PM",
  business_phone: "+15125550199",
};

/** Text made mostly of the characters the parser cares about. */
const bracy = fc.string({ unit: fc.constantFrom("{", "}", " ", "\t", "a", "_", "x", "\n", "é"), maxLength: 200 });
/** Literal text a template may hold: anything but braces. */
const literal = fc.string({ maxLength: 30 }).map((text) => text.replace(/[{}]/g, ""));
const knownName = fc.constantFrom(...templateVariableNames);
const padding = fc.constantFrom("", " ", "  ", "\t");

describe("placeholder parsing, properties", () => {
  it("never throws, and a refusal always says why", () => {
    fc.assert(
      fc.property(fc.oneof(bracy, fc.string()), (text) => {
        const result = renderTemplate(text, values);
        if (!result.ok) expect(result.reason.length).toBeGreaterThan(0);
        expect(Array.isArray(templatePlaceholders(text))).toBe(true);
      }),
    );
  });

  it("renders a well-formed template to its literal text with each value in place", () => {
    const part = fc.oneof(
      literal.map((text) => ({ text })),
      fc.tuple(padding, knownName, padding).map(([before, name, after]) => ({ name, before, after })),
    );
    fc.assert(
      fc.property(fc.array(part, { maxLength: 12 }), (parts) => {
        const template = parts.map((p) => ("name" in p ? `{{${p.before}${p.name}${p.after}}}` : p.text)).join("");
        const expected = parts.map((p) => ("name" in p ? values[p.name] : p.text)).join("");
        expect(renderTemplate(template, values)).toEqual({ ok: true, text: expected });
        const names = parts.flatMap((p) => ("name" in p ? [p.name as TemplateVariableName] : []));
        expect(templatePlaceholders(template)).toEqual([...new Set(names)]);
      }),
    );
  });

  it("refuses any stray }} outside a placeholder", () => {
    fc.assert(
      fc.property(literal, literal, (before, after) => {
        expect(renderTemplate(`${before}}}${after}`, values)).toMatchObject({ ok: false });
      }),
    );
  });
});

describe("placeholder parsing of 100 kB adversarial input", () => {
  const spaces = " ".repeat(100_000);
  it.each<[string, string, ReturnType<typeof renderTemplate>]>([
    [
      "{{ + spaces + x, never closed",
      `{{${spaces}x`,
      { ok: false, reason: expect.stringMatching(/not closed/), unknown: [] },
    ],
    ["{{ repeated", "{{".repeat(50_000), { ok: false, reason: expect.stringMatching(/not closed/), unknown: [] }],
    ["}} repeated", "}}".repeat(50_000), { ok: false, reason: expect.stringMatching(/not closed/), unknown: [] }],
    [
      "a known name padded by 50 kB of spaces on each side",
      `{{${" ".repeat(50_000)}business_name${" ".repeat(50_000)}}}`,
      { ok: true, text: "Rivera Plumbing" },
    ],
    ["many placeholders", "{{caller_name}} ".repeat(6_000), { ok: true, text: "Ana ".repeat(6_000) }],
    [
      "an unknown name of 100 kB",
      `{{${"y".repeat(100_000)}}}`,
      { ok: false, reason: expect.stringMatching(/Unknown placeholder/), unknown: ["y".repeat(100_000)] },
    ],
  ])("%s", (_name, text, expected) => {
    expect(renderTemplate(text, values)).toEqual(expected);
  });
});

describe("leaving out an unknown name in 100 kB of spaces", () => {
  // Quadratic trimming of 50 kB of spaces would outlast the test's timeout.
  it("stays linear: spaces before the name, and names after spaces", () => {
    const text = `Hola${" ".repeat(50_000)}x${" ".repeat(50_000)}{{caller_name}}${" {{caller_name}}".repeat(3_000)}!`;
    expect(renderTemplate(text, {}, "es")).toEqual({
      ok: true,
      text: `Hola${" ".repeat(50_000)}x!`,
    });
  });
});
