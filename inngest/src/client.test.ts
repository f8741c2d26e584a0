// The client takes the process's environment once, at construction: what it sends carries
// what the environment said then, however the environment changes after. The SDK's own
// client reads (and copies) the environment again for every send.
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { Inngest } from "inngest";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
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

describe("the Inngest client", () => {
  const api = eventApi();
  let baseUrl = "";
  beforeAll(async () => {
    await new Promise<void>((resolve) => api.server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => api.server.close(() => resolve())));
  afterEach(() => vi.unstubAllEnvs());

  /** The environment header of a send from `client`. */
  async function sentEnvironment(client: Pick<Inngest.Any, "send">) {
    await client.send({ name: "test/ping", data: {} });
    return api.received.at(-1)?.["x-inngest-env"];
  }

  it("builds its headers (reading the environment) once, not for every send", async () => {
    vi.stubEnv("INNGEST_ENV", "branch-preview");
    const builds = vi.spyOn(Inngest.prototype, "headers", "get");
    try {
      const SENDS = 4;
      // The SDK's own client, for comparison: it builds them again for every send.
      const plain = new Inngest({ id: "plain", eventKey: "key", baseUrl, isDev: false });
      let before = builds.mock.calls.length;
      for (let n = 0; n < SENDS; n++) await sentEnvironment(plain);
      expect(builds.mock.calls.length - before).toBeGreaterThanOrEqual(SENDS);

      const client = createInngestClient({ eventKey: "key", baseUrl, isDev: false });
      before = builds.mock.calls.length;
      for (let n = 0; n < SENDS; n++) expect(await sentEnvironment(client)).toBe("branch-preview");
      expect(builds.mock.calls.length - before).toBe(1);
    } finally {
      builds.mockRestore();
    }
  });

  it("keeps the environment it was made with when a served call hands it the environment again", async () => {
    vi.stubEnv("INNGEST_ENV", "branch-at-construction");
    const client = createInngestClient({ eventKey: "key", baseUrl, isDev: false });
    const plain = new Inngest({ id: "plain", eventKey: "key", baseUrl, isDev: false });
    // What inngest-js's serve handler does on every call it serves.
    for (const each of [client, plain]) each.setEnvVars({ INNGEST_ENV: "branch-of-the-call" });
    expect(await sentEnvironment(plain)).toBe("branch-of-the-call");
    expect(await sentEnvironment(client)).toBe("branch-at-construction");
  });
});
