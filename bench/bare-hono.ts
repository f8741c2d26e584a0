// voice-webhook's baseline in its own process: a Hono app whose one route answers as the
// webhook does (200 `<Response/>`) and does nothing else. Prints its port.
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const app = new Hono().post("*", (c) => c.body("<Response/>", 200, { "content-type": "text/xml; charset=utf-8" }));
serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => console.log(`port ${info.port}`));
