import { createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import type { JSONWebKeySet } from "jose";
import { ConfigError } from "../domain/config-error.js";

/** The JWS algorithms a key of each kind verifies; nothing else (and never `none`) is accepted. */
export type Algorithm = "HS256" | "RS256" | "ES256";

/** The key tokens are verified with. */
export type VerificationKey =
  | { readonly kind: "secret"; readonly secret: Uint8Array }
  | { readonly kind: "public-key"; readonly key: KeyObject; readonly algorithm: Algorithm }
  | { readonly kind: "jwks"; readonly jwks: JSONWebKeySet };

/** Authentication settings; absent from the configuration means authentication is off. */
export interface AuthConfig {
  readonly key: VerificationKey;
  /** When set, a token's `iss` must equal it. */
  readonly issuer?: string | undefined;
  /** When set, a token's `aud` must contain it. */
  readonly audience?: string | undefined;
  /**
   * How far the issuer's clock and this server's may disagree, in seconds: a token is still
   * accepted this long after its `exp` (and this long before its `nbf`). Default 30.
   */
  readonly clockToleranceSeconds?: number | undefined;
}

/** Issuers' and servers' clocks, NTP-synchronised, agree far better than this. */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;

// Beyond five minutes `exp` would mean little.
const MAX_CLOCK_TOLERANCE_SECONDS = 300;

function clockTolerance(value: string | undefined): number {
  if (value === undefined || value === "") return DEFAULT_CLOCK_TOLERANCE_SECONDS;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_CLOCK_TOLERANCE_SECONDS) {
    throw new ConfigError(
      `RSVP_JWT_CLOCK_TOLERANCE_SECONDS must be a whole number of seconds 0-${MAX_CLOCK_TOLERANCE_SECONDS}, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/** Shortest HS256 secret accepted: RFC 7518 asks for a key at least as long as the hash. */
export const MIN_SECRET_BYTES = 32;

function readSetting(name: string, file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`${name}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`);
  }
}

/** An HS256 secret as bytes, long enough to resist guessing. */
export function secretKey(secret: string): VerificationKey {
  const bytes = new TextEncoder().encode(secret);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new ConfigError(
      `RSVP_JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes (try: openssl rand -hex 32)`,
    );
  }
  return { kind: "secret", secret: bytes };
}

function publicKey(file: string): VerificationKey {
  const pem = readSetting("RSVP_JWT_PUBLIC_KEY_FILE", file);
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new ConfigError(`RSVP_JWT_PUBLIC_KEY_FILE: ${file} holds no PEM public key`);
  }
  if (key.asymmetricKeyType === "rsa") return { kind: "public-key", key, algorithm: "RS256" };
  if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") {
    return { kind: "public-key", key, algorithm: "ES256" };
  }
  throw new ConfigError(
    `RSVP_JWT_PUBLIC_KEY_FILE: ${file} must hold an RSA (RS256) or P-256 EC (ES256) public key`,
  );
}

function jwksKey(file: string): VerificationKey {
  const text = readSetting("RSVP_JWKS_FILE", file);
  let jwks: unknown;
  try {
    jwks = JSON.parse(text);
  } catch {
    throw new ConfigError(`RSVP_JWKS_FILE: ${file} is not JSON`);
  }
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new ConfigError(`RSVP_JWKS_FILE: ${file} is not a JWK set ({"keys": [...]})`);
  }
  if (keys.some((k) => k && typeof k === "object" && "d" in k)) {
    throw new ConfigError(`RSVP_JWKS_FILE: ${file} holds a private key; give only public keys`);
  }
  return { kind: "jwks", jwks: jwks as JSONWebKeySet };
}

/**
 * Authentication from the environment: a key from exactly one of RSVP_JWT_SECRET (HS256),
 * RSVP_JWT_PUBLIC_KEY_FILE (RS256/ES256 PEM) or RSVP_JWKS_FILE, plus the optional
 * RSVP_JWT_ISSUER, RSVP_JWT_AUDIENCE and RSVP_JWT_CLOCK_TOLERANCE_SECONDS. Undefined (off)
 * when no key is configured.
 */
export function loadAuthConfig(env: NodeJS.ProcessEnv): AuthConfig | undefined {
  const given = (["RSVP_JWT_SECRET", "RSVP_JWT_PUBLIC_KEY_FILE", "RSVP_JWKS_FILE"] as const).filter(
    (name) => (env[name] ?? "") !== "",
  );
  if (given.length > 1) {
    throw new ConfigError(`set only one of ${given.join(", ")}`);
  }
  const issuer = env.RSVP_JWT_ISSUER || undefined;
  const audience = env.RSVP_JWT_AUDIENCE || undefined;
  const clockToleranceSeconds = clockTolerance(env.RSVP_JWT_CLOCK_TOLERANCE_SECONDS);
  const [name] = given;
  if (name === undefined) {
    if (issuer || audience) {
      throw new ConfigError(
        "RSVP_JWT_ISSUER/RSVP_JWT_AUDIENCE need a key: set RSVP_JWT_SECRET, RSVP_JWT_PUBLIC_KEY_FILE or RSVP_JWKS_FILE",
      );
    }
    return undefined;
  }
  const value = env[name] ?? "";
  const key =
    name === "RSVP_JWT_SECRET"
      ? secretKey(value)
      : name === "RSVP_JWT_PUBLIC_KEY_FILE"
        ? publicKey(value)
        : jwksKey(value);
  return { key, issuer, audience, clockToleranceSeconds };
}
