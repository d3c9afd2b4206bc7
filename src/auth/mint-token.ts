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
}

/** An HS256 JWT for `claims`, signed with `secret` (what `rsvp token` prints). */
export function mintToken(secret: Uint8Array, claims: TokenClaims): Promise<string> {
  const jwt = new SignJWT({ role: claims.role })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(`${claims.ttlSeconds}s`);
  if (claims.issuer) jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt.setAudience(claims.audience);
  return jwt.sign(secret);
}
