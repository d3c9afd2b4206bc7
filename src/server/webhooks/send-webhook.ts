import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import type { ResolvedAddress } from "./address-guard.js";

/** How long a receiver has to answer a delivery, from connecting to its status line. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** How much of a receiver's answer is read (for the error message); the rest is dropped. */
const MAX_RESPONSE_BYTES = 4096;

/** How one POST went. */
export type SendOutcome =
  | { readonly ok: true; readonly status: number }
  | { readonly ok: false; readonly status?: number; readonly error: string };

/** Node's lookup, answered with the one address already resolved and checked. */
function pinnedLookup(to: ResolvedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) {
      (callback as (err: null, addresses: { address: string; family: number }[]) => void)(null, [
        { address: to.address, family: to.family },
      ]);
    } else callback(null, to.address, to.family);
  };
}

/**
 * POSTs `body` to `url`, connecting to `to`. 2xx is success; anything else, a redirect (never
 * followed), a timeout or a dropped connection is a failure with a short reason. At most a
 * few KiB of the answer are read. `signal` abandons the attempt (shutdown).
 */
export function sendWebhook(
  url: URL,
  to: ResolvedAddress,
  body: string,
  headers: Record<string, string>,
  timeoutMs = DELIVERY_TIMEOUT_MS,
  signal?: AbortSignal,
): Promise<SendOutcome> {
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
      agent: false,
      signal,
    });
    let settled = false;
    const finish = (outcome: SendOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      finish({ ok: false, error: `no answer within ${timeoutMs} ms` });
      request.destroy();
    }, timeoutMs);
    request.on("error", (err: NodeJS.ErrnoException) =>
      finish({ ok: false, error: `request failed: ${err.code ?? err.message}` }),
    );
    request.on("response", (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        res.resume(); // the answer's body means nothing on success
        finish({ ok: true, status });
        res.destroy();
        return;
      }
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
        if (text.length >= MAX_RESPONSE_BYTES) res.destroy();
      });
      const fail = () =>
        finish({
          ok: false,
          status,
          error: `HTTP ${status}${text.trim() ? `: ${text.trim().slice(0, 200)}` : ""}`,
        });
      res.on("end", fail);
      res.on("close", fail);
    });
    request.end(body);
  });
}
