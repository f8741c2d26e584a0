import { describe, expect, it } from "vitest";
import {
  isDeliveredLike,
  isFailure,
  isFinal,
  type MessageStatus,
  mergeStatus,
  messageStatuses,
  messageStatusSchema,
  parseMessageStatus,
} from "./message-status.ts";

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

const arrive = (start: MessageStatus, callbacks: readonly MessageStatus[]) => callbacks.reduce(mergeStatus, start);

describe("mergeStatus", () => {
  it.each<[MessageStatus, MessageStatus, MessageStatus]>([
    ["pending", "accepted", "accepted"],
    ["pending", "queued", "queued"],
    ["accepted", "scheduled", "accepted"],
    ["scheduled", "queued", "queued"],
    ["queued", "sending", "sending"],
    ["sending", "sent", "sent"],
    ["sent", "delivered", "delivered"],
    ["delivered", "read", "read"],
    ["pending", "read", "read"],
    // Late callbacks never move a status back.
    ["sent", "queued", "sent"],
    ["delivered", "sent", "delivered"],
    ["read", "delivered", "read"],
    ["queued", "pending", "queued"],
    ["sent", "sent", "sent"],
    // A failure ends anything short of delivered: Twilio reports failed after sent.
    ["pending", "failed", "failed"],
    ["queued", "undelivered", "undelivered"],
    ["sent", "failed", "failed"],
    ["sent", "undelivered", "undelivered"],
    ["scheduled", "canceled", "canceled"],
    // A failure after the handset confirmed delivery is not believed.
    ["delivered", "failed", "delivered"],
    ["read", "undelivered", "read"],
    ["delivered", "canceled", "delivered"],
    // Nothing replaces a failure.
    ["failed", "sent", "failed"],
    ["failed", "delivered", "failed"],
    ["undelivered", "read", "undelivered"],
    ["failed", "undelivered", "failed"],
    ["undelivered", "failed", "undelivered"],
    ["canceled", "queued", "canceled"],
  ])("%s + %s → %s", (current, incoming, expected) => {
    expect(mergeStatus(current, incoming)).toBe(expected);
  });

  const happyPath = ["queued", "sent", "delivered", "read"] as const;
  it.each(permutations(happyPath).map((order) => [order.join(" → "), order] as const))(
    "%s ends at read",
    (_name, order) => {
      expect(arrive("pending", order)).toBe("read");
      expect(arrive("accepted", order)).toBe("read");
    },
  );

  it("covers all 24 orders of queued, sent, delivered, read", () => {
    expect(new Set(permutations(happyPath).map((order) => order.join())).size).toBe(24);
  });

  it.each(permutations(["queued", "sending", "sent", "failed"] as const).map((o) => [o.join(" → "), o] as const))(
    "%s ends at failed",
    (_name, order) => {
      expect(arrive("pending", order)).toBe("failed");
    },
  );

  it.each(permutations(["queued", "sent", "undelivered"] as const).map((o) => [o.join(" → "), o] as const))(
    "%s ends at undelivered",
    (_name, order) => {
      expect(arrive("pending", order)).toBe("undelivered");
    },
  );

  // Both a delivery and a failure reported (anomalous): whichever arrives first stays.
  it.each(permutations(["queued", "sent", "delivered", "failed"] as const).map((o) => [o.join(" → "), o] as const))(
    "%s ends at whichever of delivered and failed came first",
    (_name, order) => {
      const expected = order.indexOf("failed") < order.indexOf("delivered") ? "failed" : "delivered";
      expect(arrive("pending", order)).toBe(expected);
    },
  );

  it("ignores repeated callbacks", () => {
    expect(arrive("pending", ["sent", "sent", "queued", "sent", "delivered", "delivered", "sent"])).toBe("delivered");
  });

  it.each(messageStatuses.flatMap((current) => messageStatuses.map((incoming) => [current, incoming] as const)))(
    "%s + %s keeps one of the two",
    (current, incoming) => {
      expect([current, incoming]).toContain(mergeStatus(current, incoming));
      expect(mergeStatus(current, current)).toBe(current);
    },
  );
});

describe("isFinal", () => {
  it.each<[MessageStatus, boolean]>([
    ["pending", false],
    ["accepted", false],
    ["scheduled", false],
    ["queued", false],
    ["sending", false],
    ["sent", false],
    ["delivered", false],
    ["read", true],
    ["undelivered", true],
    ["failed", true],
    ["canceled", true],
  ])("%s → %s", (status, expected) => {
    expect(isFinal(status)).toBe(expected);
    // Final means exactly this: no incoming status changes it.
    expect(messageStatuses.every((incoming) => mergeStatus(status, incoming) === status)).toBe(expected);
  });
});

describe("isDeliveredLike and isFailure", () => {
  it.each<[MessageStatus, boolean, boolean]>([
    ["pending", false, false],
    ["accepted", false, false],
    ["scheduled", false, false],
    ["queued", false, false],
    ["sending", false, false],
    ["sent", false, false],
    ["delivered", true, false],
    ["read", true, false],
    ["undelivered", false, true],
    ["failed", false, true],
    ["canceled", false, true],
  ])("%s → delivered-like %s, failure %s", (status, deliveredLike, failure) => {
    expect(isDeliveredLike(status)).toBe(deliveredLike);
    expect(isFailure(status)).toBe(failure);
  });
});

describe("parseMessageStatus", () => {
  it.each([
    ["delivered", "delivered"],
    ["read", "read"],
    ["canceled", "canceled"],
    ["receiving", null],
    ["DELIVERED", null],
    ["", null],
  ])("%j → %s", (input, expected) => {
    expect(parseMessageStatus(input)).toBe(expected);
  });

  it("names the unknown status in the schema's message", () => {
    const result = messageStatusSchema.safeParse("partially_delivered");
    expect(result.error?.issues[0]?.message).toMatch(/Unknown message status "partially_delivered"/);
  });
});
