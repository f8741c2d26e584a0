// Request bodies up to a size, refused with 413 past it. Hono's bodyLimit answers that by
// building the request's whole fetch Request (and then a streamed body) even when a header
// decides it: a GET's or HEAD's body is read by no handler (the Node adapter drains it), and a
// Content-Length is all Node lets through. Only a chunked body goes to Hono's, counted as it arrives.
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";

export function limitBodyBytes(maxBytes: number, onError: (c: Context) => Response): MiddlewareHandler {
  const countChunked = bodyLimit({ maxSize: maxBytes, onError });
  return (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const length = c.req.header("content-length");
    if (length !== undefined && c.req.header("transfer-encoding") === undefined && /^\d{1,15}$/.test(length)) {
      return Number(length) > maxBytes ? Promise.resolve(onError(c)) : next();
    }
    return countChunked(c, next);
  };
}
