import { createSecretKey } from "node:crypto";
import {
  createLocalJWKSet,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  type KeyObject,
} from "jose";
import { RsvpError, unauthenticated } from "../domain/errors.js";
import { parseName } from "../domain/validate.js";
import { type Algorithm, type AuthConfig, DEFAULT_CLOCK_TOLERANCE_SECONDS } from "./auth-config.js";
import { type Principal, ROLES, type Role } from "./caller.js";
import { FEED_CLAIM } from "./mint-token.js";

/** Turns the `authorization` header of a call into its caller, or UNAUTHENTICATED. */
export interface Authenticator {
  /** An ordinary bearer token; a feed token is refused. */
  authenticate(authorization: string | null): Promise<Principal>;
  /** A feed token (from a calendar URL's `?token=`); an ordinary bearer token is refused. */
  authenticateFeed(token: string): Promise<Principal>;
}

const isRole = (value: unknown): value is Role => ROLES.includes(value as Role);

function verifierOf(config: AuthConfig): {
  key: KeyObject | JWTVerifyGetKey;
  algorithms: Algorithm[];
} {
  const { key } = config;
  switch (key.kind) {
    case "secret":
      // A KeyObject rather than bytes: jose imports it once, not on every call.
      return { key: createSecretKey(key.secret), algorithms: ["HS256"] };
    case "public-key":
      return { key: key.key, algorithms: [key.algorithm] };
    case "jwks":
      return { key: createLocalJWKSet(key.jwks), algorithms: ["RS256", "ES256"] };
  }
}

function principalOf(payload: JWTPayload): Principal {
  const { sub, role } = payload;
  if (typeof sub !== "string") throw unauthenticated("token has no sub claim");
  try {
    parseName("sub", sub);
  } catch (err) {
    if (err instanceof RsvpError) throw unauthenticated(`token ${err.message}`);
    throw err;
  }
  if (!isRole(role)) {
    throw unauthenticated(`token role claim must be one of ${ROLES.join(", ")}`);
  }
  return { sub, role };
}

/**
 * Verifies bearer JWTs with the configured key. Only the key's own algorithm is accepted, so
 * neither `alg: none` nor an HS256 token signed with a public key can pass; `exp` is required.
 */
export function createAuthenticator(config: AuthConfig): Authenticator {
  const { key, algorithms } = verifierOf(config);
  const options = {
    algorithms,
    issuer: config.issuer,
    audience: config.audience,
    requiredClaims: ["sub", "exp"],
    // Clocks of token issuers and this server may disagree by this much.
    clockTolerance: config.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
  };
  const verify = async (token: string): Promise<JWTPayload> => {
    try {
      // The overloads of jwtVerify differ only in the key's type: one call site for all.
      return (await jwtVerify(token, key as KeyObject, options)).payload;
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw unauthenticated("token expired");
      // jose's messages name the failed check and never the key: safe to show.
      if (err instanceof errors.JOSEError) throw unauthenticated(`invalid token: ${err.message}`);
      throw unauthenticated("invalid token");
    }
  };
  return {
    async authenticate(authorization) {
      if (!authorization) {
        throw unauthenticated("missing credentials: send authorization: Bearer <token>");
      }
      const match = /^Bearer[ \t]+(\S+)\s*$/i.exec(authorization);
      if (!match?.[1]) throw unauthenticated("authorization must be: Bearer <token>");
      const payload = await verify(match[1]);
      // A feed token travels in URLs, where it may leak: it must never work for rpcs.
      if (payload[FEED_CLAIM] === true) {
        throw unauthenticated("a feed token is good for calendar feeds only");
      }
      return principalOf(payload);
    },
    async authenticateFeed(token) {
      const payload = await verify(token);
      if (payload[FEED_CLAIM] !== true) {
        throw unauthenticated("only a feed token (rsvp token --feed) is accepted in a URL");
      }
      return principalOf(payload);
    },
  };
}
