import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";

type NodeHandlerFn = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
type Req = Parameters<NodeHandlerFn>[0];

/** A plain HTTP route (health, metrics, the web page): returns true when it handled the request. */
export type HttpRoute = (req: Req, res: Parameters<NodeHandlerFn>[1]) => boolean | Promise<boolean>;

/** Whether `req` is a GET (or HEAD) of exactly `path`, whatever its query string. */
export function isGet(req: Req, path: string): boolean {
  return (req.method === "GET" || req.method === "HEAD") && req.url?.split("?", 1)[0] === path;
}
