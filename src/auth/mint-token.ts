import { SignJWT } from "jose";
import type { Role } from "./caller.js";

/** What a development token says. */
export interface TokenClaims {
  readonly sub: string;
  readonly role: Role;
  /** Lifetime in seconds. */
  readonly ttlSeconds: number;
  readonly issuer?: string | undefined;
  readonly audience?: string | undefined;
  /** A feed token: good for calendar feeds (in `?token=`) and for nothing else. */
  readonly feed?: boolean | undefined;
}

/** The claim that marks a feed token. */
export const FEED_CLAIM = "rsvp_feed";

/** An HS256 JWT for `claims`, signed with `secret` (what `rsvp token` prints). */
export function mintToken(secret: Uint8Array, claims: TokenClaims): Promise<string> {
  const jwt = new SignJWT(
    claims.feed ? { role: claims.role, [FEED_CLAIM]: true } : { role: claims.role },
  )
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(`${claims.ttlSeconds}s`);
  if (claims.issuer) jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt.setAudience(claims.audience);
  return jwt.sign(secret);
}
