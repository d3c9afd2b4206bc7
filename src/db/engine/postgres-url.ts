/**
 * A Postgres URL may list several hosts (`postgres://u@h1:5432,h2:5432/db?target_session_attrs=read-write`),
 * as libpq's do; the WHATWG URL parser refuses that. This parses it with the first host in
 * place of the list, as postgres.js does: for checking, never for connecting.
 */
export function parsePostgresUrl(url: string): URL {
  const afterScheme = url.slice(url.indexOf("://") + 3);
  const authority = afterScheme.split(/[/?#]/)[0] ?? "";
  const hosts = authority.slice(authority.lastIndexOf("@") + 1);
  const first = hosts.split(",")[0] ?? "";
  return new URL(url.replace(hosts, first));
}

/** The URL with its password masked, every host kept: for logs and the start-up line. */
export function redactPostgresUrl(url: string): string {
  try {
    const u = parsePostgresUrl(url);
    return u.password ? url.replace(`:${u.password}@`, ":***@") : url;
  } catch {
    return "postgres";
  }
}
