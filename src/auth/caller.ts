import { createContextKey, type HandlerContext } from "@connectrpc/connect";

/** The roles a token can carry. */
export const ROLES = ["user", "admin", "service"] as const;
export type Role = (typeof ROLES)[number];

/** An authenticated caller: `sub` is its user id. */
export interface Principal {
  readonly sub: string;
  readonly role: Role;
}

/**
 * The caller of the current call, set by {@link withAuth}. Undefined when authentication is
 * off: then every caller may do anything, as in the local quick start.
 */
export const CALLER = createContextKey<Principal | undefined>(undefined, {
  description: "rsvp authenticated caller",
});

/** The network address the call came from (no port), set by the transports. */
export const PEER_ADDRESS = createContextKey<string | undefined>(undefined, {
  description: "rsvp peer address",
});

/** The caller of a call, or undefined when authentication is off. */
export function callerOf(ctx: HandlerContext): Principal | undefined {
  return ctx.values.get(CALLER);
}

/**
 * Whom per-caller limits count against: the principal when there is one, otherwise the
 * address the call came from (so one local process cannot starve another).
 */
export function callerKey(ctx: HandlerContext): string {
  const caller = callerOf(ctx);
  if (caller) return `sub:${caller.sub}`;
  return `peer:${ctx.values.get(PEER_ADDRESS) ?? "unknown"}`;
}

/** A peer's address without its port: `[::1]:5000`, `ipv4:1.2.3.4:5` and `1.2.3.4:5` alike. */
export function peerHost(peer: string): string {
  const bare = peer.replace(/^ipv[46]:/, "");
  const bracketed = /^\[([^\]]*)\](?::\d+)?$/.exec(bare);
  if (bracketed?.[1] !== undefined) return bracketed[1];
  // One colon: host:port. More: an unbracketed IPv6 address without a port.
  return bare.split(":").length === 2 ? (bare.split(":")[0] ?? bare) : bare;
}
