import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { Duplex } from "node:stream";
import { type ConnectNodeAdapterOptions, connectNodeAdapter } from "@connectrpc/connect-node";

type NodeHandlerFn = NonNullable<ConnectNodeAdapterOptions["fallback"]>;

import type { ConnectRouter, Interceptor } from "@connectrpc/connect";

/** A plain HTTP route (health, metrics, the web page): returns true when it handled the request. */
export type HttpRoute = (
  req: Parameters<NodeHandlerFn>[0],
  res: Parameters<NodeHandlerFn>[1],
) => boolean | Promise<boolean>;

export interface HttpServerOptions {
  readonly routes: (router: ConnectRouter) => void;
  readonly interceptors: Interceptor[];
  readonly extraRoutes: HttpRoute[];
  /** Allowed CORS origins for browsers on other origins; empty allows none. */
  readonly corsOrigins?: readonly string[];
}

/**
 * One cleartext port for Connect (JSON and binary), gRPC-Web and gRPC over both HTTP/1.1 and
 * HTTP/2 (prior knowledge): the connection preface tells which server gets the socket.
 */
export function createHttpServer(opts: HttpServerOptions): net.Server {
  const rpc = connectNodeAdapter({
    routes: opts.routes,
    interceptors: opts.interceptors,
    fallback: async (req, res) => {
      for (const route of opts.extraRoutes) if (await route(req, res)) return;
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found\n");
    },
  });
  const h1 = http.createServer(rpc);
  const h2 = http2.createServer({}, rpc);
  return net.createServer((socket) => {
    socket.on("error", () => socket.destroy());
    socket.once("data", (first) => {
      if (first.subarray(0, 3).toString("latin1") === "PRI") {
        h2.emit("connection", replay(socket, first));
      } else {
        socket.pause();
        socket.unshift(first);
        h1.emit("connection", socket);
        socket.resume();
      }
    });
  });
}

/**
 * The socket as a stream that starts with the bytes already read. An HTTP/2 session reads
 * a native socket below JavaScript, where unshifted bytes are invisible, so it gets this.
 */
function replay(socket: net.Socket, first: Buffer): Duplex {
  const stream = new Duplex({
    read: () => socket.resume(),
    write: (chunk, _encoding, done) => socket.write(chunk, done),
    final: (done) => socket.end(done),
    destroy: (err, done) => {
      socket.destroy(err ?? undefined);
      done(err);
    },
  });
  stream.push(first);
  socket.on("data", (chunk) => stream.push(chunk) || socket.pause());
  socket.on("end", () => stream.push(null));
  socket.on("close", () => stream.destroy());
  return stream;
}
