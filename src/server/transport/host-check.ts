import { isLoopback } from "../../auth/bind-check.js";

/** The host name of a Host or :authority header, lower-cased, without port or brackets. */
export function hostName(authority: string): string {
  const host = authority.trim().toLowerCase();
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return end < 0 ? host : host.slice(1, end);
  }
  const colon = host.indexOf(":");
  // More than one colon is a bare IPv6 address, which a valid Host never is: kept whole.
  return colon >= 0 && host.indexOf(":", colon + 1) < 0 ? host.slice(0, colon) : host;
}

/**
 * Whether a request naming `authority` may be answered while authentication is off. A page
 * on another origin can point its own host name at 127.0.0.1 (DNS rebinding) and then call
 * us as same-origin; its requests still carry that name, so only loopback names and
 * addresses and the names an operator listed are answered.
 */
export function createHostCheck(allowed: readonly string[]): (authority: unknown) => boolean {
  const names = new Set(allowed.map(hostName));
  return (authority) => {
    if (typeof authority !== "string" || authority === "") return false;
    const name = hostName(authority);
    return isLoopback(name) || names.has(name);
  };
}
