import { describe, expect, it } from "vitest";
import { countSmsSegments } from "./sms-segments.ts";
import {
  callerNameFallback,
  formatCallTime,
  renderTemplate,
  renderWhatsAppVariables,
  sampleVariables,
  type TemplateVariables,
  templatePlaceholders,
  templateVariableNames,
  whatsAppVariablesSchema,
} from "./template-render.ts";

const call: TemplateVariables = {
  business_name: "Rivera Plumbing",
  caller_number: "+15125550100",
  caller_name: "Ana",
  call_time: "Sun 3:05 PM",
  business_phone: "+15125550199",
};

describe("templatePlaceholders", () => {
  it.each([
    ["no placeholders", "Thanks for calling!", []],
    ["one", "Hi from {{business_name}}", ["business_name"]],
    ["whitespace inside braces", "{{ business_name }} / {{caller_name  }}", ["business_name", "caller_name"]],
    ["repeats listed once, in order", "{{call_time}} {{business_name}} {{call_time}}", ["call_time", "business_name"]],
    ["unknown names too", "{{ nope }} {{business_name}}", ["nope", "business_name"]],
    ["an empty placeholder", "{{}}", [""]],
    ["single braces are text", "{business_name}", []],
  ])("%s", (_name, text, expected) => {
    expect(templatePlaceholders(text)).toEqual(expected);
  });
});

describe("renderTemplate", () => {
  it.each<[string, string, TemplateVariables, string]>([
    [
      "every variable",
      "Hi {{caller_name}}, {{business_name}} missed your call ({{caller_number}}) at {{call_time}}. Call {{business_phone}}.",
      call,
      "Hi Ana, Rivera Plumbing missed your call (+15125550100) at Sun 3:05 PM. Call +15125550199.",
    ],
    ["whitespace inside braces", "{{  business_name  }}!", call, "Rivera Plumbing!"],
    ["a repeated placeholder", "{{business_name}} / {{business_name}}", call, "Rivera Plumbing / Rivera Plumbing"],
    ["no placeholders", "Plain text.", {}, "Plain text."],
    ["missing caller name falls back", "Hi {{caller_name}},", { ...call, caller_name: undefined }, "Hi there,"],
    ["null caller name falls back", "Hi {{caller_name}},", { ...call, caller_name: null }, "Hi there,"],
    ["blank caller name falls back", "Hi {{caller_name}},", { ...call, caller_name: "  " }, "Hi there,"],
    ["values are trimmed", "Hi {{caller_name}}!", { caller_name: " Ana " }, "Hi Ana!"],
    ["other missing values are empty", "[{{business_phone}}]", { business_name: "X" }, "[]"],
    [
      "a value that looks like a placeholder stays literal",
      "Hi {{caller_name}} from {{business_name}}",
      { ...call, caller_name: "{{business_name}}" },
      "Hi {{business_name}} from Rivera Plumbing",
    ],
    ["single braces are text", "{caller_name} {{caller_name}}", call, "{caller_name} Ana"],
  ])("%s", (_name, text, variables, expected) => {
    expect(renderTemplate(text, variables)).toEqual({ ok: true, text: expected });
  });

  it.each<[string, string, string, TemplateVariables, string]>([
    ["Spanish, no name: left out with its space", "es", "Hola {{caller_name}}, te llamamos.", {}, "Hola, te llamamos."],
    ["Spanish, no name, before a word", "es", "Gracias {{caller_name}} por llamar.", {}, "Gracias por llamar."],
    ["Spanish, no name, in exclamation marks", "es", "¡Hola {{caller_name}}!", { caller_name: " " }, "¡Hola!"],
    ["Spanish with a name", "es", "Hola {{caller_name}},", { caller_name: "Ana" }, "Hola Ana,"],
    ["Brazilian Portuguese, no name", "pt-BR", "Olá {{caller_name}}, obrigado.", {}, "Olá, obrigado."],
    ["a language without a fallback word", "nl", "Hallo {{caller_name}}!", {}, "Hallo!"],
    ["English keeps its word", "en", "Hi {{caller_name}},", {}, "Hi there,"],
    [
      "spaces before the name go, a line break stays",
      "es",
      "Hola  {{caller_name}}\n{{business_name}}",
      { business_name: "Rivera" },
      "Hola\nRivera",
    ],
  ])("the caller's name in the template's language: %s", (_name, language, text, variables, expected) => {
    expect(renderTemplate(text, { ...variables, caller_name: variables.caller_name ?? null }, language)).toEqual({
      ok: true,
      text: expected,
    });
  });

  it.each<[string, string, string[], RegExp]>([
    [
      "an unknown name",
      "Hi {{first_name}}",
      ["first_name"],
      /Unknown placeholder \{\{first_name\}\}\. Use \{\{business_name\}\}/,
    ],
    ["names are case-sensitive", "{{Business_Name}}", ["Business_Name"], /Unknown placeholder \{\{Business_Name\}\}/],
    ["several unknown names, each once", "{{a}} {{b}} {{a}}", ["a", "b"], /Unknown placeholders \{\{a\}\}, \{\{b\}\}/],
    ["an empty placeholder", "Hi {{ }}", [""], /Unknown placeholder \{\{\}\}/],
    ["an unclosed placeholder", "Hi {{caller_name}", [], /not closed/],
    ["an unopened placeholder", "Hi caller_name}}", [], /not closed/],
  ])("refuses %s", (_name, text, unknown, reason) => {
    const result = renderTemplate(text, call);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.unknown).toEqual(unknown);
      expect(result.reason).toMatch(reason);
    }
  });

  it("renders every known placeholder with the sample variables", () => {
    const text = templateVariableNames.map((name) => `{{${name}}}`).join("|");
    expect(renderTemplate(text, sampleVariables)).toEqual({
      ok: true,
      text: templateVariableNames.map((name) => sampleVariables[name]).join("|"),
    });
    expect(callerNameFallback("en").inText).toBe("there");
  });

  it("knows exactly the five placeholders, and reads a missing caller name as 'there' in English", () => {
    expect([...templateVariableNames]).toEqual([
      "business_name",
      "caller_number",
      "caller_name",
      "call_time",
      "business_phone",
    ]);
    expect(renderTemplate("Hi {{caller_name}}!", {})).toEqual({ ok: true, text: "Hi there!" });
  });
});

describe("formatCallTime", () => {
  it.each([
    ["Chicago afternoon", "2026-03-08T20:05:00Z", "America/Chicago", "en-US", "Sun 3:05 PM"],
    ["Madrid, the same instant", "2026-03-08T20:05:00Z", "Europe/Madrid", "en-US", "Sun 9:05 PM"],
    ["the org's date, not UTC's", "2026-03-09T03:30:00Z", "America/Chicago", "en-US", "Sun 10:30 PM"],
    ["Spanish", "2026-03-08T20:05:00Z", "Europe/Madrid", "es-ES", "dom, 21:05"],
    ["a template language tag", "2026-03-08T20:05:00Z", "America/Chicago", "es", "dom, 15:05"],
    ["Brazilian Portuguese", "2026-03-08T20:05:00Z", "America/Sao_Paulo", "pt-BR", "dom., 17:05"],
    ["a tag Intl does not know: English", "2026-03-08T20:05:00Z", "America/Chicago", "xx-invalid-tag", "Sun 3:05 PM"],
  ])("%s", (_name, iso, timeZone, locale, expected) => {
    expect(formatCallTime(new Date(iso), timeZone, locale)).toBe(expected);
  });

  it("keeps an SMS in GSM-7 (no narrow no-break space before PM)", () => {
    expect(countSmsSegments(formatCallTime(new Date("2026-03-08T20:05:00Z"), "America/Chicago")).encoding).toBe(
      "GSM-7",
    );
  });
});

describe("renderWhatsAppVariables", () => {
  it.each<[string, Record<string, string>, TemplateVariables, Record<string, string>]>([
    ["no variables", {}, call, {}],
    [
      "each value rendered",
      { "1": "{{business_name}}", "2": "{{ call_time }}", "10": "Call us on {{business_phone}}" },
      call,
      { "1": "Rivera Plumbing", "2": "Sun 3:05 PM", "10": "Call us on +15125550199" },
    ],
    ["fixed text", { "1": "our team" }, {}, { "1": "our team" }],
    ["caller name fallback", { "1": "{{caller_name}}" }, {}, { "1": "there" }],
    [
      "line breaks, tabs and runs of spaces folded",
      { "1": "{{business_name}}\n\tTeam     A " },
      call,
      { "1": "Rivera Plumbing Team A" },
    ],
  ])("%s", (_name, variables, values, expected) => {
    expect(renderWhatsAppVariables(variables, values)).toEqual({ ok: true, variables: expected });
  });

  it("gives a variable that is only the unknown name the language's word: WhatsApp refuses empty ones", () => {
    expect(renderWhatsAppVariables({ "1": "{{caller_name}}" }, {}, "es")).toEqual({
      ok: true,
      variables: { "1": "cliente" },
    });
    expect(renderWhatsAppVariables({ "1": "Hola {{caller_name}}" }, {}, "es")).toEqual({
      ok: true,
      variables: { "1": "Hola" },
    });
    expect(renderWhatsAppVariables({ "1": "{{caller_name}}" }, {}, "nl")).toMatchObject({ ok: false });
  });

  it.each<[string, Record<string, string>, string[], RegExp]>([
    ["a zero key", { "0": "x" }, [], /"0" is not/],
    ["a padded key", { "01": "x" }, [], /"01" is not/],
    ["a named key", { "1": "x", name: "y", "-2": "z" }, [], /"name", "-2" are not/],
    [
      "an unknown placeholder",
      { "1": "{{first_name}}", "2": "{{x}} {{first_name}}" },
      ["first_name", "x"],
      /Unknown placeholders \{\{first_name\}\}, \{\{x\}\}/,
    ],
    [
      "an unclosed placeholder",
      { "3": "{{business_name" },
      [],
      /WhatsApp variable \{\{3\}\}: A placeholder is not closed/,
    ],
    ["an empty value", { "1": "{{business_name}}", "2": "{{business_phone}}" }, [], /\{\{2\}\} is empty/],
    ["a blank fixed value", { "1": "  " }, [], /\{\{1\}\} is empty/],
  ])("refuses %s", (_name, variables, unknown, reason) => {
    const result = renderWhatsAppVariables(variables, { business_name: "Rivera Plumbing" });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.unknown).toEqual(unknown);
      expect(result.reason).toMatch(reason);
    }
  });
});

describe("whatsAppVariablesSchema", () => {
  it.each([
    [{ "1": "{{business_name}}", "2": "x" }, true],
    [{}, true],
    [{ "0": "x" }, false],
    [{ one: "x" }, false],
    [{ "1": 2 }, false],
  ])("%j → %s", (input, success) => {
    expect(whatsAppVariablesSchema.safeParse(input).success).toBe(success);
  });
});
