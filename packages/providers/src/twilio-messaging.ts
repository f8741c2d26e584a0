// The MessagingProvider on Twilio: WhatsApp Content templates and SMS through the SDK.
import {
  type FetchedMessage,
  type MessagingProvider,
  ProviderRequestError,
  type SendResult,
} from "./messaging-provider.ts";
import { createTwilioClient, type TwilioMessagingOptions, toProviderError } from "./twilio-client.ts";
import { mapTwilioMessageStatus } from "./twilio-status.ts";

const whatsapp = (e164: string) => `whatsapp:${e164.replace(/^whatsapp:/, "")}`;

export function createTwilioMessaging(options: TwilioMessagingOptions): MessagingProvider {
  const { client, where } = createTwilioClient(options);

  async function create(params: Parameters<typeof client.messages.create>[0]): Promise<SendResult> {
    try {
      const message = await client.messages.create(params);
      // A created message is at least accepted, whatever new status name Twilio answers with.
      return { ok: true, sid: message.sid, status: mapTwilioMessageStatus(message.status) ?? "accepted" };
    } catch (error) {
      return { ok: false, error: toProviderError(error, where) };
    }
  }

  return {
    sendWhatsApp: (input) =>
      create({
        to: whatsapp(input.to),
        from: whatsapp(input.from),
        contentSid: input.contentSid,
        contentVariables: JSON.stringify(input.contentVariables),
        statusCallback: input.statusCallback,
      }),

    sendSms: (input) =>
      create({ to: input.to, from: input.from, body: input.body, statusCallback: input.statusCallback }),

    async fetchMessage(sid): Promise<FetchedMessage> {
      let message: Awaited<ReturnType<ReturnType<typeof client.messages>["fetch"]>>;
      try {
        message = await client.messages(sid).fetch();
      } catch (error) {
        throw new ProviderRequestError(toProviderError(error, where));
      }
      const status = mapTwilioMessageStatus(message.status);
      if (status === null) {
        throw new ProviderRequestError({
          code: null,
          kind: "permanent",
          message: `Twilio reports message ${sid} as "${message.status}", a status CallFlow does not track for outbound messages.`,
        });
      }
      return {
        sid: message.sid,
        status,
        errorCode: message.errorCode ?? null,
        errorMessage: message.errorMessage ?? null,
      };
    },
  };
}
