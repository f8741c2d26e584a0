// The carrier keywords a caller texts to stop, restart or ask for help, in every language
// CallFlow sends in (English and Spanish). English are Twilio's defaults (its standard
// opt-out handling: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT; START,
// YES, UNSTOP; HELP, INFO), so CallFlow's ledger agrees with what Twilio itself blocks.
// A keyword is the whole message: "stop calling me" is a reply for staff, not an opt-out.

export type ConsentKeywordAction = "opt_out" | "opt_in" | "help";
export type KeywordLanguage = "en" | "es";

const KEYWORDS: Record<KeywordLanguage, Record<ConsentKeywordAction, readonly string[]>> = {
  en: {
    opt_out: ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"],
    opt_in: ["START", "YES", "UNSTOP"],
    help: ["HELP", "INFO"],
  },
  es: {
    opt_out: ["PARAR", "ALTO", "DETENER", "CANCELAR", "BAJA"],
    opt_in: ["COMENZAR", "INICIAR", "ALTA", "REANUDAR"],
    help: ["AYUDA", "INFORMACION"],
  },
};

const BY_WORD = new Map<string, { action: ConsentKeywordAction; language: KeywordLanguage }>(
  (Object.entries(KEYWORDS) as Array<[KeywordLanguage, Record<ConsentKeywordAction, readonly string[]>]>).flatMap(
    ([language, actions]) =>
      (Object.entries(actions) as Array<[ConsentKeywordAction, readonly string[]]>).flatMap(([action, words]) =>
        words.map((word) => [word, { action, language }] as const),
      ),
  ),
);

/** The longest keyword: a longer message is never one, so nothing long is normalised. */
const LONGEST = Math.max(...[...BY_WORD.keys()].map((word) => word.length));

/**
 * The keyword a message is, if it is one: case, accents, spaces, hyphens and "." or "!" do
 * not matter ("Stop", " s t o p ", "Información", "stop all", "opt-out" are keywords).
 */
export function consentKeywordOf(body: string): { action: ConsentKeywordAction; language: KeywordLanguage } | null {
  if (body.length > LONGEST * 4) return null;
  const word = body
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .replace(/[\s.!¡-]/gu, "")
    .toUpperCase();
  return BY_WORD.get(word) ?? null;
}

/** What the caller is told after an opt-out or opt-in, in the language of the keyword they sent. */
export function consentConfirmation(
  action: Exclude<ConsentKeywordAction, "help">,
  language: KeywordLanguage,
  businessName: string,
): string {
  const business = businessName.trim() || (language === "es" ? "este negocio" : "this business");
  if (language === "es") {
    return action === "opt_out"
      ? `No recibirás más mensajes de ${business}. Responde COMENZAR para volver a recibirlos.`
      : `Volverás a recibir mensajes de ${business}. Responde PARAR para dejar de recibirlos.`;
  }
  return action === "opt_out"
    ? `You will get no more messages from ${business}. Reply START to get them again.`
    : `You will get messages from ${business} again. Reply STOP to stop them.`;
}
