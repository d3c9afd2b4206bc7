import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { HttpRoute } from "./http-route.js";

/** Where `vite build web` puts the page: the repository's web/dist, from dist/src/server/. */
export const WEB_DIST = fileURLToPath(new URL("../../../../web/dist/", import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

// The page needs nothing from elsewhere; saying so blunts any injected script or frame.
const CSP =
  "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** The file under `root` a request path names, or undefined when it names none (or escapes). */
function fileFor(root: string, url: string): string | undefined {
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(url, "http://localhost").pathname);
  } catch {
    return undefined; // malformed percent-encoding
  }
  if (pathname.includes("\0")) return undefined;
  const file = path.resolve(root, `.${pathname === "/" ? "/index.html" : pathname}`);
  return file.startsWith(root + path.sep) ? file : undefined;
}

/**
 * Serves the built web page (GET and HEAD) from `root`, index.html at `/`. Paths that leave
 * `root`, directories and missing files fall through (404); when the page was never built,
 * `/` says how to build it.
 */
export function webStatic(root: string = WEB_DIST): HttpRoute {
  const base = path.resolve(root);
  const index = path.join(base, "index.html");
  return async (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const file = fileFor(base, req.url ?? "/");
    if (!file) return false;
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch (err) {
      if (file !== index || (err as NodeJS.ErrnoException).code !== "ENOENT") return false;
      res.writeHead(503, { "content-type": "text/plain; charset=utf-8" });
      res.end("the web page is not built: run `npm run build` (it runs `vite build web`)\n");
      return true;
    }
    const ext = path.extname(file);
    res.writeHead(200, {
      "content-type": CONTENT_TYPES[ext] ?? "application/octet-stream",
      "content-length": body.length,
      // Vite puts a content hash in every asset name; index.html must be fetched fresh.
      "cache-control": file.startsWith(path.join(base, "assets") + path.sep)
        ? "public, max-age=31536000, immutable"
        : "no-cache",
      "x-content-type-options": "nosniff",
      ...(ext === ".html" ? { "content-security-policy": CSP } : {}),
    });
    if (req.method === "HEAD") res.end();
    else res.end(body);
    return true;
  };
}
