// The business numbers CallFlow can connect: the Twilio account's own incoming phone numbers
// (bought through CallFlow or ported to its account), looked up through the SDK; connecting
// one points its calls at CallFlow (Voice URL and status callback), disconnecting clears them.
import { ProviderRequestError } from "./messaging-provider.ts";
import { createTwilioClient, type TwilioMessagingOptions, toProviderError } from "./twilio-client.ts";

export interface OwnedNumber {
  /** Twilio's id of the number (PN…). */
  sid: string;
  e164: string;
}

/** Where Twilio reaches the voice flow's webhooks, from the public URL (PUBLIC_URL). */
export interface VoiceWebhookUrls {
  /** The number's Voice URL: answers the incoming call's TwiML. */
  incoming: string;
  /** The Dial verb's action: the forwarded leg's result. */
  dial: string;
  /** The Record verb's action and recording status callback. */
  recording: string;
  /** The number's status callback: the call's final status. */
  status: string;
}

export function voiceWebhookUrls(publicUrl: string): VoiceWebhookUrls {
  const base = `${publicUrl.replace(/\/+$/, "")}/webhooks/twilio/voice`;
  return { incoming: `${base}/incoming`, dial: `${base}/dial`, recording: `${base}/recording`, status: base };
}

export interface PhoneNumberDirectory {
  /** The account's number, or null when the account has no such number. Throws ProviderRequestError. */
  findOwned(e164: string): Promise<OwnedNumber | null>;
  /** Sends the number's calls through CallFlow: its Voice URL and status callback (POST). Throws ProviderRequestError. */
  connect(number: OwnedNumber): Promise<void>;
  /** Clears the Voice URL and status callback that `connect` set. Throws ProviderRequestError. */
  disconnect(number: OwnedNumber): Promise<void>;
}

export function createTwilioNumbers(
  options: TwilioMessagingOptions & {
    /** Where Twilio reaches CallFlow (PUBLIC_URL): the webhooks a connected number calls. */
    publicUrl: string;
  },
): PhoneNumberDirectory {
  const { client, where } = createTwilioClient(options);
  const urls = voiceWebhookUrls(options.publicUrl);
  const asked = async <T>(request: () => Promise<T>): Promise<T> => {
    try {
      return await request();
    } catch (error) {
      throw new ProviderRequestError(toProviderError(error, where));
    }
  };
  return {
    async findOwned(e164) {
      const found = await asked(() => client.incomingPhoneNumbers.list({ phoneNumber: e164, limit: 1 }));
      const number = found.find((candidate) => candidate.phoneNumber === e164);
      return number ? { sid: number.sid, e164: number.phoneNumber } : null;
    },
    async connect(number) {
      await asked(() =>
        client.incomingPhoneNumbers(number.sid).update({
          voiceUrl: urls.incoming,
          voiceMethod: "POST",
          statusCallback: urls.status,
          statusCallbackMethod: "POST",
        }),
      );
    },
    async disconnect(number) {
      await asked(() => client.incomingPhoneNumbers(number.sid).update({ voiceUrl: "", statusCallback: "" }));
    },
  };
}
