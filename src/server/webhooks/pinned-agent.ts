import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import type { ResolvedAddress } from "./address-guard.js";

// An idle connection is closed after this long, before most receivers close theirs (Node's
// own server closes at 5 s and says so; the agent honours such a hint when it is shorter).
const IDLE_MS = 4000;

/** Node's lookup, answered with the one address already resolved and checked. */
export function pinnedLookup(to: ResolvedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) {
      (callback as (err: null, addresses: { address: string; family: number }[]) => void)(null, [
        { address: to.address, family: to.family },
      ]);
    } else callback(null, to.address, to.family);
  };
}

/**
 * The kept-alive connection of one webhook. Its pool belongs to one checked address: every
 * connection it opens goes to that address, and when a delivery's check gives another one the
 * pool and its connections are dropped, so a reused connection always leads where the latest
 * check said. One connection at a time: deliveries of one webhook never overlap.
 */
export class PinnedAgent {
  #key: string | undefined;
  #agent: http.Agent | undefined;

  /** The agent for a delivery over `protocol` to the checked address `to`. */
  for(protocol: string, to: ResolvedAddress): http.Agent {
    const key = `${protocol}//${to.family}/${to.address}`;
    if (this.#agent && this.#key === key) return this.#agent;
    this.#agent?.destroy();
    const options = { keepAlive: true, maxSockets: 1, timeout: IDLE_MS, lookup: pinnedLookup(to) };
    this.#agent = protocol === "https:" ? new https.Agent(options) : new http.Agent(options);
    this.#key = key;
    return this.#agent;
  }

  /** Closes the connection. */
  close(): void {
    this.#agent?.destroy();
    this.#agent = undefined;
    this.#key = undefined;
  }
}
