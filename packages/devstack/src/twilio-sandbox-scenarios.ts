// What the local Twilio sandbox does with a message, decided by the recipient's last digit
// so that every outcome of the after-call workflow can be produced on purpose:
//
//   ends in 0  WhatsApp accepted, then failed by status callback with 63024 (not a WhatsApp
//              user), as Twilio reports it; SMS delivered
//   ends in 1  WhatsApp stops at "sent", never delivered; SMS delivered
//   ends in 2  WhatsApp fails (63016); SMS sent, then undelivered (30003)
//   ends in 9  SMS refused at once with 21610 (the recipient unsubscribed from the sender, as
//              Twilio refuses after a STOP); WhatsApp delivered, then read
//   otherwise  sent, then delivered (WhatsApp then read)

export type SandboxChannel = "whatsapp" | "sms";

/** The statuses the sandbox reports, a subset of Twilio's MessageStatus. */
export type SandboxMessageStatus = "queued" | "sent" | "delivered" | "read" | "failed" | "undelivered";

export interface SandboxTiming {
  /** From acceptance to the "sent" callback (and to a WhatsApp failure). */
  sentAfterMs: number;
  /** From acceptance to "delivered" (and to an SMS "undelivered"). */
  deliveredAfterMs: number;
  /** From acceptance to WhatsApp's "read". Default: as long after delivered as sent was after acceptance. */
  readAfterMs?: number;
}

export const defaultSandboxTiming: SandboxTiming = { sentAfterMs: 300, deliveredAfterMs: 1000 };

/** A Twilio-shaped refusal of the create request. */
export interface SandboxRefusal {
  httpStatus: number;
  code: number;
  message: string;
  /** Sent as Retry-After, as Twilio does with some 429s and 503s. */
  retryAfterSeconds?: number;
}

/**
 * A create request whose answer never reaches the client, the faults that leave the sender
 * not knowing whether Twilio took the message:
 * - hang: no answer at all (the client's timeout ends it); `accepted` says whether the
 *   message was taken first (it then goes on and posts its callbacks) or lost on the way in;
 * - drop: the message is accepted, then the connection is closed before the answer.
 */
export type SandboxSendFault = { kind: "hang"; accepted: boolean } | { kind: "drop" };

export interface SandboxStep {
  afterMs: number;
  status: SandboxMessageStatus;
  errorCode?: number;
}

export type SandboxScenario = { kind: "refused"; refusal: SandboxRefusal } | { kind: "accepted"; steps: SandboxStep[] };

/** `to` in E.164. Twilio posts no callback for the initial "queued", so no step has it. */
export function sandboxScenario(channel: SandboxChannel, to: string, timing: SandboxTiming): SandboxScenario {
  const sent = timing.sentAfterMs;
  const delivered = Math.max(timing.deliveredAfterMs, sent);
  const read = Math.max(timing.readAfterMs ?? delivered + sent, delivered);
  const accepted = (...steps: SandboxStep[]): SandboxScenario => ({ kind: "accepted", steps });
  const lastDigit = to.at(-1);

  if (channel === "whatsapp") {
    switch (lastDigit) {
      case "0":
        return accepted({ afterMs: sent, status: "failed", errorCode: 63024 });
      case "1":
        return accepted({ afterMs: sent, status: "sent" });
      case "2":
        return accepted({ afterMs: sent, status: "failed", errorCode: 63016 });
      default:
        return accepted(
          { afterMs: sent, status: "sent" },
          { afterMs: delivered, status: "delivered" },
          { afterMs: read, status: "read" },
        );
    }
  }
  if (lastDigit === "2") {
    return accepted({ afterMs: sent, status: "sent" }, { afterMs: delivered, status: "undelivered", errorCode: 30003 });
  }
  if (lastDigit === "9") {
    return {
      kind: "refused",
      refusal: { httpStatus: 400, code: 21610, message: "Attempt to send to unsubscribed recipient" },
    };
  }
  return accepted({ afterMs: sent, status: "sent" }, { afterMs: delivered, status: "delivered" });
}

/** Twilio's error_message for the codes the sandbox reports in callbacks and fetches. */
export const sandboxErrorMessages: Readonly<Record<number, string>> = {
  30003: "Unreachable destination handset",
  63016: "Failed to send freeform message because you are outside the allowed window. Please use a Template.",
  63024: "Invalid message recipient",
};
