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

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** What {@link namedAuthorities} reads of a request (HTTP/1.1 or HTTP/2). */
interface Named {
  readonly url?: string | undefined;
  readonly rawHeaders: readonly string[];
}

/**
 * Every authority a request names: its Host header (HTTP/1.1), its `:authority` and any
 * `host` (HTTP/2), and the authority of an absolute-form request line
 * (`GET http://host/ HTTP/1.1`), each to be checked. Undefined when the request is malformed
 * (RFC 9112 §3.2): Host given more than once, or an absolute-form target that is no URL.
 */
export function namedAuthorities(req: Named): string[] | undefined {
  const names: string[] = [];
  let hosts = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]?.toLowerCase();
    if (name === "host") hosts++;
    if (name === "host" || name === ":authority") names.push(raw[i + 1] ?? "");
  }
  if (hosts > 1) return undefined;
  const url = req.url ?? "";
  if (ABSOLUTE.test(url)) {
    if (!URL.canParse(url)) return undefined;
    names.push(new URL(url).host);
  }
  return names;
}

/**
 * The origin form (`/path?query`) of a request target: an absolute-form one
 * (`http://host/path`), which a server must accept (RFC 9112 §3.2.2), is routed by its path.
 */
export function originForm(target: string): string {
  if (!ABSOLUTE.test(target) || !URL.canParse(target)) return target;
  const url = new URL(target);
  return `${url.pathname}${url.search}`;
}
