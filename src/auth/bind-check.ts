import { isIP } from "node:net";

/** Whether `host` only ever accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  const bare = host.replace(/^\[|\]$/g, "");
  if (isIP(bare) === 4) return bare.startsWith("127.");
  if (isIP(bare) === 6) return bare === "::1" || /^::ffff:127\./i.test(bare);
  return false;
}

/**
 * Secure by default: without authentication the server is reachable from this machine only.
 * Returns the one-line reason to refuse binding `host`, or undefined when it is fine.
 */
export function insecureBindRefusal(
  host: string,
  authOn: boolean,
  insecure: boolean,
): string | undefined {
  if (authOn || insecure || isLoopback(host)) return undefined;
  return (
    `refusing to serve on ${host} without authentication: set RSVP_JWT_SECRET, ` +
    "RSVP_JWT_PUBLIC_KEY_FILE or RSVP_JWKS_FILE, or accept the risk with --insecure (RSVP_INSECURE=1)"
  );
}
