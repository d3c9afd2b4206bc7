import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { invalidArgument } from "../../domain/errors.js";

// Where a webhook may not point: this host, private networks, link-local (cloud metadata lives
// at 169.254.169.254), and the other special-purpose ranges no public receiver uses.
const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  BLOCKED.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b::", 96],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  BLOCKED.addSubnet(net, prefix, "ipv6");
}

/** Whether `address` (an IP) is loopback, private, link-local or otherwise not public. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, "ipv4");
  if (family !== 6) return true;
  // An IPv4-mapped IPv6 address is the IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  return mapped ? BLOCKED.check(mapped, "ipv4") : BLOCKED.check(address, "ipv6");
}

/** The address a webhook delivery connects to, checked. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/**
 * Resolves `hostname` and returns its first address, refusing (INVALID_ARGUMENT) when any
 * address it resolves to is private and `allowPrivate` is off. The delivery connects to exactly
 * the address returned, so a name cannot resolve to a public address here and a private one
 * at connect time.
 */
export async function resolvePublic(
  hostname: string,
  allowPrivate: boolean,
): Promise<ResolvedAddress> {
  const bare = hostname.replace(/^\[(.*)\]$/, "$1");
  let addresses: { address: string; family: number }[];
  try {
    addresses = isIP(bare)
      ? [{ address: bare, family: isIP(bare) }]
      : await lookup(bare, { all: true });
  } catch {
    throw invalidArgument(`webhook host ${JSON.stringify(hostname)} does not resolve`);
  }
  const first = addresses[0];
  if (!first) throw invalidArgument(`webhook host ${JSON.stringify(hostname)} does not resolve`);
  if (!allowPrivate && addresses.some((a) => isPrivateAddress(a.address))) {
    throw invalidArgument(
      `webhook host ${JSON.stringify(hostname)} is a loopback, private or link-local address (set RSVP_WEBHOOK_ALLOW_PRIVATE=1 to allow)`,
    );
  }
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}
