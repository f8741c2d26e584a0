import { describe, expect, it } from "vitest";
import {
  BackendScanner,
  FrontendFramer,
  ProtocolViolation,
  startupParameters,
  toBackend,
  toClient,
} from "./wire-protocol.ts";

const startupPacket = () => {
  const body = Buffer.from("user\0postgres\0database\0postgres\0\0", "latin1");
  const header = Buffer.alloc(8);
  header.writeInt32BE(8 + body.length, 0);
  header.writeInt32BE(196608, 4);
  return Buffer.concat([header, body]);
};

const typesOf = (packets: ReturnType<FrontendFramer["push"]>) =>
  packets.map((packet) => (packet.kind === "startup" ? `startup:${packet.code}` : packet.type));

describe("FrontendFramer", () => {
  const stream = Buffer.concat([
    startupPacket(),
    toBackend.query("select 1"),
    toBackend.parse("", "select $1::int"),
    toBackend.sync(),
  ]);

  it("frames the same packets whatever the chunking, one byte at a time included", () => {
    const whole = new FrontendFramer(1024).push(stream);
    const framer = new FrontendFramer(1024);
    const bytewise = [...stream].flatMap((byte) => framer.push(Buffer.from([byte])));
    expect(typesOf(whole)).toEqual(["startup:196608", "Q", "P", "S"]);
    expect(bytewise).toEqual(whole);
  });

  it("reads the startup parameters", () => {
    const [startup] = new FrontendFramer(1024).push(startupPacket());
    expect(startup?.kind === "startup" && Object.fromEntries(startupParameters(startup.body))).toEqual({
      user: "postgres",
      database: "postgres",
    });
  });

  it("refuses a message longer than the limit before reading its body", () => {
    const framer = new FrontendFramer(16);
    framer.push(startupPacket());
    const header = Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff]);
    expect(() => framer.push(header)).toThrow(ProtocolViolation);
  });

  it("refuses impossible lengths", () => {
    expect(() => new FrontendFramer(16).push(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0]))).toThrow(ProtocolViolation);
    const framer = new FrontendFramer(16);
    framer.push(startupPacket());
    expect(() => framer.push(Buffer.from([0x51, 0, 0, 0, 3]))).toThrow(ProtocolViolation);
  });

  it("frames 200,000 messages arriving in one chunk", () => {
    const message = toBackend.sync();
    const many = Buffer.concat(Array.from({ length: 200_000 }, () => message));
    const framer = new FrontendFramer(1024);
    framer.push(startupPacket());
    expect(framer.push(many)).toHaveLength(200_000);
  });
});

describe("BackendScanner", () => {
  it("finds ReadyForQuery's status across chunk boundaries, past large messages", () => {
    const answer = Buffer.concat([
      toClient.parameterStatus("DateStyle", "ISO, MDY"),
      toClient.error("ERROR", "22012", "division by zero".repeat(1000)),
      toClient.readyForQuery("E"),
    ]);
    const scanner = new BackendScanner();
    for (let offset = 0; offset < answer.length; offset += 7) scanner.scan(answer.subarray(offset, offset + 7));
    expect(scanner.takeReadyStatus()).toBe("E");
    expect(scanner.takeReadyStatus()).toBeNull();
  });

  it("reports nothing for an answer without ReadyForQuery (a batch not yet synced)", () => {
    const scanner = new BackendScanner();
    scanner.scan(Buffer.from([0x31, 0, 0, 0, 4, 0x32, 0, 0, 0, 4]));
    expect(scanner.takeReadyStatus()).toBeNull();
  });
});
