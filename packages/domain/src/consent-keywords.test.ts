import { describe, expect, it } from "vitest";
import { consentConfirmation, consentKeywordOf } from "./consent-keywords.ts";

describe("consentKeywordOf", () => {
  it.each([
    ["STOP", "opt_out", "en"],
    ["stop", "opt_out", "en"],
    ["  Stop \n", "opt_out", "en"],
    ["Stop.", "opt_out", "en"],
    ["stop all", "opt_out", "en"],
    ["UNSUBSCRIBE", "opt_out", "en"],
    ["Revoke", "opt_out", "en"],
    ["opt-out", "opt_out", "en"],
    ["START", "opt_in", "en"],
    ["yes", "opt_in", "en"],
    ["unstop", "opt_in", "en"],
    ["HELP", "help", "en"],
    ["info", "help", "en"],
    ["PARAR", "opt_out", "es"],
    ["alto", "opt_out", "es"],
    ["¡Baja!", "opt_out", "es"],
    ["cancelar", "opt_out", "es"],
    ["COMENZAR", "opt_in", "es"],
    ["alta", "opt_in", "es"],
    ["Ayuda", "help", "es"],
    ["Información", "help", "es"],
  ])("%j is %s (%s)", (body, action, language) => {
    expect(consentKeywordOf(body)).toEqual({ action, language });
  });

  it.each(["stop calling me", "Can you call back?", "", "STOPP", "si", "gracias", "x".repeat(10_000)])(
    "%j is no keyword",
    (body) => {
      expect(consentKeywordOf(body)).toBeNull();
    },
  );
});

describe("consentConfirmation", () => {
  it.each([
    [
      "opt_out",
      "en",
      "Rosa's Bakery",
      "You will get no more messages from Rosa's Bakery. Reply START to get them again.",
    ],
    ["opt_in", "en", "Rosa's Bakery", "You will get messages from Rosa's Bakery again. Reply STOP to stop them."],
    [
      "opt_out",
      "es",
      "Rosa's Bakery",
      "No recibirás más mensajes de Rosa's Bakery. Responde COMENZAR para volver a recibirlos.",
    ],
    ["opt_in", "es", " ", "Volverás a recibir mensajes de este negocio. Responde PARAR para dejar de recibirlos."],
  ] as const)("%s in %s", (action, language, business, text) => {
    expect(consentConfirmation(action, language, business)).toBe(text);
  });
});
