// Plain words for what the API reports in English: Twilio error codes (the API sends its
// own English explanation; the common codes are translated here) and the reasons CallFlow
// gives for its decisions, which arrive as short English phrases joined by "; ".
import type { Lang } from "./i18n.tsx";

const spanishErrors: Record<number, string> = {
  20429: "Twilio está limitando las peticiones de esta cuenta; se reintentará en breve.",
  21211: "El número de destino no es un número de teléfono válido.",
  21610: "La persona se dio de baja (respondió STOP) de este remitente.",
  21614: "El número de destino no es un móvil (probablemente un fijo).",
  30003: "El teléfono de destino no está disponible (apagado o sin cobertura).",
  30004: "El mensaje fue bloqueado (por la persona o por el operador).",
  30005: "El operador no conoce este número (desconocido o dado de baja).",
  30006: "El número es un fijo o no se puede contactar con su operador.",
  30007: "El operador filtró el mensaje (parece spam o incumple sus normas).",
  30008: "La entrega falló por un motivo desconocido que indicó el operador.",
  63003: "WhatsApp no encuentra este número: no usa WhatsApp o ya no está activo.",
  63013: "WhatsApp rechazó el mensaje por incumplir sus políticas.",
  63014: "La persona bloqueó a este negocio en WhatsApp.",
  63016: "Fuera de la ventana de 24 horas de WhatsApp: solo una plantilla aprobada puede iniciar la conversación.",
  63018: "El remitente de WhatsApp alcanzó el límite de envíos; se reintentará más tarde.",
  63024: "Este número no está en WhatsApp (o no aceptó las condiciones, o su aplicación es antigua).",
  63033: "WhatsApp no puede entregar a esta persona.",
};

/** "63024: this number is not on WhatsApp", in the interface's language. */
export function explainError(code: number, englishDescription: string | null | undefined, lang: Lang): string {
  const words = (lang === "es" ? spanishErrors[code] : undefined) ?? englishDescription ?? `Twilio error ${code}`;
  return `${code}: ${words}`;
}

const spanishOutcome: Record<string, string> = {
  missed: "perdida",
  answered: "atendida",
  voicemail: "con buzón de voz",
  "after-hours": "fuera de horario",
};

const spanishJobStatus: Record<string, string> = {
  pending: "pendiente",
  scheduled: "programado",
  sending: "enviando",
};

const spanishReasons: Array<[RegExp, (match: RegExpMatchArray) => string]> = [
  [/^(missed|answered|voicemail|after-hours) call$/, (m) => `llamada ${spanishOutcome[m[1] ?? ""] ?? m[1]}`],
  [/^WhatsApp first, SMS as fallback$/, () => "primero WhatsApp, SMS si no llega"],
  [/^SMS: the number is not on WhatsApp$/, () => "SMS: el número no está en WhatsApp"],
  [/^SMS: the template has no WhatsApp content$/, () => "SMS: la plantilla no tiene contenido de WhatsApp"],
  [/^deferred to the end of quiet hours$/, () => "aplazado hasta el final de las horas de silencio"],
  [/^the caller opted out$/, () => "la persona pidió no recibir mensajes"],
  [/^the call has not ended$/, () => "la llamada aún no ha terminado"],
  [/^the business messages only callers who opted in$/, () => "el negocio solo escribe a quien lo autorizó"],
  [
    /^the business sends no message after (\w+) calls$/,
    (m) => `el negocio no envía mensajes tras llamadas ${spanishOutcome[m[1] ?? ""] ?? m[1]}s`,
  ],
  [/^the caller was messaged less than (\d+ (?:h|min)) ago$/, (m) => `ya se le escribió hace menos de ${m[1]}`],
  [/^the monthly message quota of the plan is used up$/, () => "se agotó la cuota mensual de mensajes del plan"],
  [
    /^no active template for (\w+) calls$/,
    (m) => `no hay plantilla activa para llamadas ${spanishOutcome[m[1] ?? ""] ?? m[1]}s`,
  ],
  [/^caller number is not one we can message: (.*)$/, (m) => `no se puede escribir a este número: ${m[1]}`],
  [/^delivered by WhatsApp$/, () => "entregado por WhatsApp"],
  [/^delivered by SMS$/, () => "entregado por SMS"],
  // Reconciliation (inngest/src/functions/reconcile-records.ts).
  [/^delivered by WhatsApp; found by reconciliation$/, () => "entregado por WhatsApp; lo comprobó la conciliación"],
  [/^delivered by SMS; found by reconciliation$/, () => "entregado por SMS; lo comprobó la conciliación"],
  [
    /^stuck (pending|scheduled|sending) for over (\d+) minutes; finished by reconciliation$/,
    (m) =>
      `detenido (${spanishJobStatus[m[1] ?? ""] ?? m[1]}) durante más de ${m[2]} minutos; lo cerró la conciliación`,
  ],
  [/^SMS (\w+); the carrier sent no delivery receipt$/, () => "SMS enviado; el operador no confirmó la entrega"],
  [
    /^monthly message quota reached: (\d+) of (\d+) on (\w+)$/,
    (m) => `se alcanzó la cuota mensual de mensajes: ${m[1]} de ${m[2]} en ${m[3]}`,
  ],
  // Billing (billing.status and its procedures' errors).
  [
    /^the (\w+) plan's payment has been past due since ([\d-]+) and the (\d+)-day grace period is over: pay the open invoice in Billing to send messages again$/,
    (m) =>
      `el pago del plan ${m[1]} está pendiente desde el ${m[2]} y terminó el periodo de gracia de ${m[3]} días: pague la factura pendiente en Facturación para volver a enviar mensajes`,
  ],
  [
    /^the (\w+) plan is unpaid: pay the open invoice in Billing to send messages again$/,
    (m) => `el plan ${m[1]} está impagado: pague la factura pendiente en Facturación para volver a enviar mensajes`,
  ],
  [
    /^the (\w+) plan is paused: resume it in Billing to send messages$/,
    (m) => `el plan ${m[1]} está en pausa: reactívelo en Facturación para enviar mensajes`,
  ],
  [
    /^after (\d+) messages in a billing period, calls are still logged but no message is sent until the next period or an upgrade$/,
    (m) =>
      `tras ${m[1]} mensajes en un periodo de facturación, las llamadas se siguen registrando pero no se envía ningún mensaje hasta el siguiente periodo o hasta mejorar el plan`,
  ],
  [
    /^this business already has the (\w+) plan: change plan in Manage billing$/,
    (m) => `este negocio ya tiene el plan ${m[1]}: cambie de plan en Gestionar facturación`,
  ],
  [
    /^this business has no billing account yet: choose a plan first$/,
    () => "este negocio aún no tiene cuenta de facturación: elija antes un plan",
  ],
  [/^billing is not configured$/, () => "la facturación no está configurada"],
];

/** A reason from the API in the interface's language; unknown phrases stay as they are. */
export function explainReason(reason: string, lang: Lang): string {
  if (lang === "en") return reason;
  return reason
    .split("; ")
    .map((part) => {
      for (const [pattern, translate] of spanishReasons) {
        const match = part.match(pattern);
        if (match) return translate(match);
      }
      return part;
    })
    .join("; ");
}
