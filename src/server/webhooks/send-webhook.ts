import http from "node:http";
import https from "node:https";
import type { ResolvedAddress } from "./address-guard.js";
import { pinnedLookup } from "./pinned-agent.js";

/** How long a receiver has to answer a delivery, from connecting to its status line. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** How much of a receiver's answer is read (for the error message); the rest is dropped. */
const MAX_RESPONSE_BYTES = 4096;

/** How one POST went. */
export type SendOutcome =
  | { readonly ok: true; readonly status: number }
  | { readonly ok: false; readonly status?: number; readonly error: string };

/**
 * POSTs `body` to `url`, connecting to `to`. 2xx is success; anything else, a redirect (never
 * followed), a timeout or a dropped connection is a failure with a short reason. At most a
 * few KiB of the answer are read. `signal` abandons the attempt (shutdown). With `agent` (kept
 * alive, pinned to `to`), a connection it kept is reused; a reused connection found closed by
 * the receiver before any answer is tried once more on a new one.
 */
export async function sendWebhook(
  url: URL,
  to: ResolvedAddress,
  body: string,
  headers: Record<string, string>,
  timeoutMs = DELIVERY_TIMEOUT_MS,
  signal?: AbortSignal,
  agent?: http.Agent,
): Promise<SendOutcome> {
  const first = await post(url, to, body, headers, timeoutMs, signal, agent);
  if (first !== "stale") return first;
  const again = await post(url, to, body, headers, timeoutMs, signal, agent);
  return again === "stale" ? { ok: false, error: "request failed: ECONNRESET" } : again;
}

function post(
  url: URL,
  to: ResolvedAddress,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  agent: http.Agent | undefined,
): Promise<SendOutcome | "stale"> {
  return new Promise((resolve) => {
    const request = (url.protocol === "https:" ? https : http).request(url, {
      method: "POST",
      headers: {
        ...headers,
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
        "user-agent": "rsvp-webhooks",
      },
      lookup: pinnedLookup(to),
      agent: agent ?? false,
      signal,
    });
    let settled = false;
    const finish = (outcome: SendOutcome | "stale") => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    let status: number | undefined;
    let text = "";
    // Settles on a received status (2xx: success, however the answer's body ends), else fails.
    const settle = () => {
      if (status === undefined) return;
      if (status >= 200 && status < 300) finish({ ok: true, status });
      else
        finish({
          ok: false,
          status,
          error: `HTTP ${status}${text.trim() ? `: ${text.trim().slice(0, 200)}` : ""}`,
        });
    };
    const timer = setTimeout(() => {
      settle();
      finish({ ok: false, error: `no answer within ${timeoutMs} ms` });
      request.destroy();
    }, timeoutMs);
    request.on("error", (err: NodeJS.ErrnoException) =>
      // An idle kept-alive connection the receiver closed as this request went out.
      finish(
        request.reusedSocket &&
          status === undefined &&
          (err.code === "ECONNRESET" || err.code === "EPIPE")
          ? "stale"
          : { ok: false, error: `request failed: ${err.code ?? err.message}` },
      ),
    );
    request.on("response", (res) => {
      status = res.statusCode ?? 0;
      // The answer is read to its end (so a kept-alive connection can carry the next delivery),
      // at most a few KiB of it: beyond that the connection is dropped.
      let read = 0;
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        read += chunk.length;
        if (text.length < MAX_RESPONSE_BYTES) text += chunk;
        if (read >= MAX_RESPONSE_BYTES) res.destroy();
      });
      res.on("end", settle);
      res.on("close", settle);
    });
    request.end(body);
  });
}
