import { base64url, SignJWT } from "jose";
import { type AuthConfig, secretKey } from "../../src/auth/auth-config.js";
import type { Role } from "../../src/auth/caller.js";
import { mintToken } from "../../src/auth/mint-token.js";

/** The HS256 secret of the servers under test. */
export const TEST_SECRET = "test-secret-0123456789abcdef-0123456789abcdef";

/** Authentication on, with {@link TEST_SECRET}. */
export const TEST_AUTH: AuthConfig = { key: secretKey(TEST_SECRET) };

const secretBytes = (secret: string) => new TextEncoder().encode(secret);

/** A valid token for `sub` with `role`, valid for an hour. */
export function tokenFor(sub: string, role: Role): Promise<string> {
  return mintToken(secretBytes(TEST_SECRET), { sub, role, ttlSeconds: 3600 });
}

/** gRPC call options that send `token`. */
export const withToken = (token: string) => ({ metadata: { authorization: `Bearer ${token}` } });

/** Tokens that must each be refused with UNAUTHENTICATED, by what is wrong with them. */
export async function badTokens(): Promise<Record<string, string>> {
  const secret = secretBytes(TEST_SECRET);
  const sign = (claims: Record<string, unknown>, key = secret) =>
    new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(key);
  const now = Math.floor(Date.now() / 1000);
  const part = (o: object) => base64url.encode(JSON.stringify(o));
  const good = await tokenFor("alice", "admin");
  const [header, payload] = good.split(".");
  return {
    "signed with another secret": await sign(
      { sub: "alice", role: "admin", exp: now + 3600 },
      secretBytes("another-secret-0123456789abcdef-0123456789"),
    ),
    "expired an hour ago": await sign({ sub: "alice", role: "admin", exp: now - 3600 }),
    "alg none": `${part({ alg: "none", typ: "JWT" })}.${part({ sub: "alice", role: "admin", exp: now + 3600 })}.`,
    "payload swapped after signing": `${header}.${part({ sub: "mallory", role: "admin", exp: now + 3600 })}.${good.split(".")[2]}`,
    "signature stripped": `${header}.${payload}.`,
    "not a JWT": "hello",
    "three dots of garbage": "a.b.c",
    "no role": await sign({ sub: "alice", exp: now + 3600 }),
    "unknown role": await sign({ sub: "alice", role: "root", exp: now + 3600 }),
    "no sub": await sign({ role: "admin", exp: now + 3600 }),
    "sub too long": await sign({ sub: "x".repeat(65), role: "user", exp: now + 3600 }),
    "no exp": await sign({ sub: "alice", role: "admin" }),
    "not yet valid": await sign({ sub: "alice", role: "admin", exp: now + 7200, nbf: now + 3600 }),
  };
}
