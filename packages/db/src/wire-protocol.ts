// The PostgreSQL v3 wire protocol, as much as the embedded database's socket needs: framing
// of what clients send (linear, each message's size bounded), a scanner of what the backend
// answers, and the few messages the socket writes itself.

export type ReadyStatus = "I" | "T" | "E";

export const PROTOCOL_3_0 = 3 << 16;
export const SSL_REQUEST_CODE = 80_877_103;
export const GSSENC_REQUEST_CODE = 80_877_104;
export const CANCEL_REQUEST_CODE = 80_877_102;
/** As PostgreSQL's MAX_STARTUP_PACKET_LENGTH. */
const MAX_STARTUP_PACKET_BYTES = 10_000;

export class ProtocolViolation extends Error {}

export type FrontendPacket =
  /** Before the session starts: SSLRequest, GSSENCRequest, CancelRequest or StartupMessage (by code). */
  { kind: "startup"; code: number; body: Buffer } | { kind: "message"; type: string; body: Buffer };

/**
 * Cuts a client's byte stream into packets. Each byte is copied once, into a buffer of the
 * length the header announced, so framing is linear whatever the chunking; a length over the
 * limit is refused before anything is allocated.
 */
export class FrontendFramer {
  readonly #header = Buffer.alloc(8);
  #headerFilled = 0;
  #body: Buffer | null = null;
  #bodyFilled = 0;
  #startupPhase = true;

  constructor(private readonly maxMessageBytes: number) {}

  push(chunk: Buffer): FrontendPacket[] {
    const packets: FrontendPacket[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#body === null) {
        const headerSize = this.#startupPhase ? 8 : 5;
        const count = Math.min(headerSize - this.#headerFilled, chunk.length - offset);
        chunk.copy(this.#header, this.#headerFilled, offset, offset + count);
        this.#headerFilled += count;
        offset += count;
        if (this.#headerFilled < headerSize) break;
        this.#body = Buffer.allocUnsafe(this.#bodyLength());
        this.#bodyFilled = 0;
      }
      const count = Math.min(this.#body.length - this.#bodyFilled, chunk.length - offset);
      chunk.copy(this.#body, this.#bodyFilled, offset, offset + count);
      this.#bodyFilled += count;
      offset += count;
      if (this.#bodyFilled === this.#body.length) packets.push(this.#complete(this.#body));
    }
    return packets;
  }

  #bodyLength(): number {
    if (this.#startupPhase) {
      const length = this.#header.readInt32BE(0);
      if (length < 8 || length > MAX_STARTUP_PACKET_BYTES)
        throw new ProtocolViolation("invalid length of startup packet");
      return length - 8;
    }
    const length = this.#header.readInt32BE(1);
    if (length < 4) throw new ProtocolViolation("invalid message length");
    if (length - 4 > this.maxMessageBytes) {
      throw new ProtocolViolation(
        `message of ${length - 4} bytes is over this socket's limit of ${this.maxMessageBytes}`,
      );
    }
    return length - 4;
  }

  #complete(body: Buffer): FrontendPacket {
    this.#body = null;
    this.#headerFilled = 0;
    if (this.#startupPhase) {
      const code = this.#header.readInt32BE(4);
      // Only a StartupMessage ends the startup phase; SSL/GSS requests are followed by another packet.
      if (code >> 16 === 3) this.#startupPhase = false;
      return { kind: "startup", code, body };
    }
    return { kind: "message", type: String.fromCharCode(this.#header[0] ?? 0), body };
  }
}

/** `key\0value\0...\0` of a StartupMessage. */
export function startupParameters(body: Buffer): Map<string, string> {
  const parameters = new Map<string, string>();
  const strings: string[] = [];
  let start = 0;
  for (let index = 0; index < body.length; index++) {
    if (body[index] !== 0) continue;
    strings.push(body.toString("utf8", start, index));
    start = index + 1;
  }
  for (let index = 0; index + 1 < strings.length; index += 2) {
    const key = strings[index] ?? "";
    if (key === "") break;
    parameters.set(key, strings[index + 1] ?? "");
  }
  return parameters;
}

/**
 * Follows the backend's answer across chunk boundaries and records ReadyForQuery's status,
 * which says whether the session is idle, in a transaction, or in a failed one.
 */
export class BackendScanner {
  readonly #header = Buffer.alloc(6);
  #filled = 0;
  #wanted = 5;
  #skip = 0;
  /** The status of the last ReadyForQuery seen since the last `take()`, if any. */
  #ready: ReadyStatus | null = null;

  scan(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#skip > 0) {
        const count = Math.min(this.#skip, chunk.length - offset);
        this.#skip -= count;
        offset += count;
        continue;
      }
      const count = Math.min(this.#wanted - this.#filled, chunk.length - offset);
      this.#header.set(chunk.subarray(offset, offset + count), this.#filled);
      this.#filled += count;
      offset += count;
      if (this.#filled < this.#wanted) break;
      const type = this.#header[0];
      const length = this.#header.readInt32BE(1);
      // ReadyForQuery: read its one-byte status too.
      if (this.#wanted === 5 && type === 0x5a && length >= 5) {
        this.#wanted = 6;
        continue;
      }
      if (this.#wanted === 6) this.#ready = String.fromCharCode(this.#header[5] ?? 0) as ReadyStatus;
      this.#skip = Math.max(0, length - 4 - (this.#wanted - 5));
      this.#filled = 0;
      this.#wanted = 5;
    }
  }

  /** The last ReadyForQuery status seen since the previous call, then forgets it. */
  takeReadyStatus(): ReadyStatus | null {
    const ready = this.#ready;
    this.#ready = null;
    return ready;
  }
}

/** Each whole message of a complete backend answer, in order. */
export function* backendMessages(
  bytes: Uint8Array,
): Generator<{ type: string; message: Uint8Array; body: Uint8Array }> {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset + 5 <= view.length) {
    const length = view.readInt32BE(offset + 1);
    const end = offset + 1 + length;
    if (length < 4 || end > view.length) return;
    yield {
      type: String.fromCharCode(view[offset] ?? 0),
      message: view.subarray(offset, end),
      body: view.subarray(offset + 5, end),
    };
    offset = end;
  }
}

function message(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(5);
  header.write(type, 0, "latin1");
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

const int32 = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value, 0);
  return bytes;
};
const cstring = (text: string) => Buffer.from(`${text}\0`, "utf8");

/** Messages the socket itself sends to clients. */
export const toClient = {
  sslRefused: () => Buffer.from("N", "latin1"),
  authenticationOk: () => message("R", int32(0)),
  parameterStatus: (name: string, value: string) => message("S", cstring(name), cstring(value)),
  backendKeyData: (processId: number, secretKey: number) => message("K", int32(processId), int32(secretKey)),
  readyForQuery: (status: ReadyStatus) => message("Z", Buffer.from(status, "latin1")),
  negotiateProtocolVersion: (minorVersion: number, unsupportedOptions: string[]) =>
    message(
      "v",
      int32(PROTOCOL_3_0 | minorVersion),
      int32(unsupportedOptions.length),
      ...unsupportedOptions.map(cstring),
    ),
  error: (severity: "ERROR" | "FATAL", code: string, text: string) =>
    message(
      "E",
      Buffer.from("S", "latin1"),
      cstring(severity),
      Buffer.from("V", "latin1"),
      cstring(severity),
      Buffer.from("C", "latin1"),
      cstring(code),
      Buffer.from("M", "latin1"),
      cstring(text),
      Buffer.from([0]),
    ),
};

/** Messages the socket sends to the backend on a client's behalf (rollback and reset). */
export const toBackend = {
  query: (text: string) => message("Q", cstring(text)),
  parse: (statementName: string, text: string) =>
    message("P", cstring(statementName), cstring(text), Buffer.from([0, 0])),
  sync: () => message("S"),
};
