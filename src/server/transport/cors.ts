import { cors } from "@connectrpc/connect";
import type { HttpRoute } from "./http-route.js";
import { REQUEST_ID } from "./request-id.js";

type Request = Parameters<HttpRoute>[0];
type Response = Parameters<HttpRoute>[1];

// Connect's own lists (every protocol it speaks), plus the service's own headers: the bearer
// token and the request id it echoes.
const ALLOW_METHODS = cors.allowedMethods.join(", ");
const ALLOW_HEADERS = [...cors.allowedHeaders, "Authorization", REQUEST_ID].join(", ");
const EXPOSE_HEADERS = [...cors.exposedHeaders, REQUEST_ID].join(", ");
// Browsers cap this anyway (Chrome at 2 hours): fewer preflights.
const MAX_AGE_SECONDS = "7200";

/**
 * CORS for browsers on other origins: `origins` lists the allowed ones exactly, "*" allows
 * any. The returned function adds the headers to a response, and answers preflights itself:
 * it returns true when it did. Same-origin requests need none of this and pass untouched.
 */
export function createCors(origins: readonly string[]): (req: Request, res: Response) => boolean {
  const anyOrigin = origins.includes("*");
  const allowed = new Set(origins);
  return (req, res) => {
    const origin = req.headers.origin;
    if (typeof origin !== "string") return false;
    const ok = anyOrigin || allowed.has(origin);
    const preflight =
      req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
    if (ok) {
      // Echoed rather than "*": caches must not reuse one origin's answer for another.
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("vary", "Origin");
    }
    if (!preflight) {
      if (ok) res.setHeader("access-control-expose-headers", EXPOSE_HEADERS);
      return false;
    }
    if (!ok) {
      res.writeHead(403, { "content-type": "text/plain" });
      res.end("origin not allowed\n");
      return true;
    }
    res.writeHead(204, {
      "access-control-allow-methods": ALLOW_METHODS,
      "access-control-allow-headers": ALLOW_HEADERS,
      "access-control-max-age": MAX_AGE_SECONDS,
    });
    res.end();
    return true;
  };
}
