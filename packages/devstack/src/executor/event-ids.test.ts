import { decodeTime } from "ulid";
import { describe, expect, it } from "vitest";
import { seededUlid } from "./event-ids.ts";

describe("seeded event ids (Inngest's X-Inngest-Event-Id-Seed)", () => {
  const millis = 1_743_130_137_367;
  const entropy = Buffer.from("7a29b660a5d7553263b8", "hex");
  const seed = `${millis},${entropy.toString("base64")}`;

  it("are the same for the same seed and index, and differ by index", () => {
    expect(seededUlid(seed, 0)).toBe(seededUlid(seed, 0));
    expect(seededUlid(seed, 1)).not.toBe(seededUlid(seed, 0));
    expect(decodeTime(seededUlid(seed, 3) as string)).toBe(millis);
  });

  it("carry the seed's entropy, plus the index in its last four bytes, as the ULID's random part", () => {
    const crockford = (bytes: Buffer) => {
      let bits = BigInt(`0x${bytes.toString("hex")}`);
      let text = "";
      for (let i = 0; i < 16; i++) {
        text = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[Number(bits & 31n)] + text;
        bits >>= 5n;
      }
      return text;
    };
    expect(seededUlid(seed, 0)?.slice(10)).toBe(crockford(entropy));
    const plusTwo = Buffer.from(entropy);
    plusTwo.writeUInt32BE(entropy.readUInt32BE(6) + 2, 6);
    expect(seededUlid(seed, 2)?.slice(10)).toBe(crockford(plusTwo));
  });

  it("are null for a malformed seed (the send then gets random ids)", () => {
    for (const bad of [
      "",
      "123",
      "abc,def",
      `0,${entropy.toString("base64")}`,
      `${millis},AAAA`,
      `${millis},${seed}`,
    ]) {
      expect(seededUlid(bad, 0), bad).toBeNull();
    }
  });
});
