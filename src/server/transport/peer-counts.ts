import type { Logger } from "../logger.js";

/**
 * Counts what each remote address holds open (connections, streams) against a share of its
 * own, so that one address can exhaust only that share and never a limit all peers rely on.
 */
export interface PeerCounts {
  /**
   * Takes a slot for `peer` and returns the function that gives it back (idempotent), or
   * undefined when `peer` already holds its share.
   */
  take(peer: string): (() => void) | undefined;
}

// One warning per interval at most: a peer hammering its limit must not flood the log.
const WARN_EVERY_MS = 10_000;

/**
 * Per-address counts with at most `max` slots each. Each refusal is counted, and a warning
 * naming the setting (`setting`) is logged at most once per ten seconds.
 */
export function createPeerCounts(
  max: number,
  what: { readonly port: string; readonly setting: string; readonly log: Logger },
): PeerCounts {
  const open = new Map<string, number>();
  let refused = 0;
  let lastWarn = 0;
  const warn = (peer: string) => {
    refused++;
    const now = Date.now();
    if (now - lastWarn < WARN_EVERY_MS) return;
    lastWarn = now;
    what.log.warn(
      { port: what.port, peer, max, refused },
      `per-address limit reached: refusing (${what.setting})`,
    );
    refused = 0;
  };
  return {
    take(peer) {
      const n = open.get(peer) ?? 0;
      if (n >= max) {
        warn(peer);
        return undefined;
      }
      open.set(peer, n + 1);
      let given = false;
      return () => {
        if (given) return;
        given = true;
        const left = (open.get(peer) ?? 1) - 1;
        if (left > 0) open.set(peer, left);
        else open.delete(peer);
      };
    },
  };
}
