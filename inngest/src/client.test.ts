// The client takes the process's environment once, at construction: what it sends still
// carries what the environment said then, and sending does not read the environment again
// (the SDK's own client copies it for every send).
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { Inngest } from "inngest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInngestClient } from "./client.ts";

/** An event API that takes every send and keeps its headers. */
function eventApi() {
  const received: IncomingHttpHeaders[] = [];
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      received.push(request.headers);
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ ids: ["01J00000000000000000000000"], status: 200 }));
    });
  });
  return { server, received };
}

/** Runs `work` with a process environment that counts how often it is enumerated. */
async function countingEnvironmentReads(extra: Record<string, string>, work: (reads: () => number) => Promise<void>) {
  const original = process.env;
  let reads = 0;
  process.env = new Proxy(
    { ...original, ...extra },
    {
      ownKeys(target) {
        reads++;
        return Reflect.ownKeys(target);
      },
    },
  );
  try {
    await work(() => reads);
  } finally {
    process.env = original;
  }
}

describe("the Inngest client", () => {
  const api = eventApi();
  let baseUrl = "";
  beforeAll(async () => {
    await new Promise<void>((resolve) => api.server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => api.server.close(() => resolve())));

  it("reads the environment at construction and not for each send, and still sends what it said", async () => {
    const SENDS = 5;
    await countingEnvironmentReads({ INNGEST_ENV: "branch-preview" }, async (reads) => {
      // The SDK's own client, for comparison: it reads the environment again for every send.
      const plain = new Inngest({ id: "plain", eventKey: "key", baseUrl, isDev: false });
      const plainBefore = reads();
      for (let n = 0; n < SENDS; n++) await plain.send({ name: "test/ping", data: { n } });
      expect(reads() - plainBefore).toBeGreaterThanOrEqual(SENDS);

      const client = createInngestClient({ eventKey: "key", baseUrl, isDev: false });
      await client.send({ name: "test/ping", data: { n: 0 } });
      const before = reads();
      for (let n = 1; n <= SENDS; n++) await client.send({ name: "test/ping", data: { n } });
      expect(reads() - before).toBe(0);
    });
    const ours = api.received.slice(-(SENDS + 1));
    expect(ours).toHaveLength(SENDS + 1);
    for (const headers of ours) expect(headers["x-inngest-env"]).toBe("branch-preview");
  });
});
