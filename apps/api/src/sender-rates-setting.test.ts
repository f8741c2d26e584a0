// SENDER_RATES: how fast each kind of sender may send, over the defaults in packages/domain.
import { defaultSenderRates, deliveryThrottleKey } from "@callflow/domain";
import { expect, it } from "vitest";
import { loadConfig } from "./config.ts";

const configWith = (SENDER_RATES?: string) => loadConfig({ LOG_LEVEL: "silent", SENDER_RATES });

it("is empty when unset: every sender keeps its default pace", () => {
  expect(configWith().senderRates).toEqual({});
  expect(configWith("").senderRates).toEqual({});
});

it("reads kind=rate pairs, spaces allowed, and the delivery lanes follow them", () => {
  const { senderRates } = configWith(" whatsapp = 20 , long_code=2");
  expect(senderRates).toEqual({ whatsapp: 20, long_code: 2 });
  // A long code at 2 a second has two lanes; at the default (1) it has one.
  const lanes = (rates: typeof senderRates) =>
    new Set(
      Array.from({ length: 40 }, (_, i) =>
        deliveryThrottleKey({ jobId: `job-${i}`, channel: "sms", from: "+15125550100" }, rates),
      ),
    );
  expect(lanes(senderRates).size).toBe(2);
  expect(lanes({}).size).toBe(defaultSenderRates.long_code);
});

it.each([
  ["an unknown kind", "fax=3"],
  ["a rate that is not a number", "whatsapp=fast"],
  ["a rate of zero", "long_code=0"],
  ["a rate above 1000", "whatsapp=5000"],
  ["a pair without a rate", "whatsapp"],
])("stops the start on %s", (_, value) => {
  expect(() => configWith(value)).toThrow(/Invalid environment|SENDER_RATES/);
});
