// The business numbers CallFlow can connect: the Twilio account's own incoming phone numbers
// (bought through CallFlow or ported to its account), looked up through the SDK.
import { ProviderRequestError } from "./messaging-provider.ts";
import { createTwilioClient, type TwilioMessagingOptions, toProviderError } from "./twilio-client.ts";

export interface OwnedNumber {
  /** Twilio's id of the number (PN…). */
  sid: string;
  e164: string;
}

export interface PhoneNumberDirectory {
  /** The account's number, or null when the account has no such number. Throws ProviderRequestError. */
  findOwned(e164: string): Promise<OwnedNumber | null>;
}

export function createTwilioNumbers(options: TwilioMessagingOptions): PhoneNumberDirectory {
  const { client, where } = createTwilioClient(options);
  return {
    async findOwned(e164) {
      let found: Awaited<ReturnType<typeof client.incomingPhoneNumbers.list>>;
      try {
        found = await client.incomingPhoneNumbers.list({ phoneNumber: e164, limit: 1 });
      } catch (error) {
        throw new ProviderRequestError(toProviderError(error, where));
      }
      const number = found.find((candidate) => candidate.phoneNumber === e164);
      return number ? { sid: number.sid, e164: number.phoneNumber } : null;
    },
  };
}
