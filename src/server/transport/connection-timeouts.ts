import type http from "node:http";
import http2 from "node:http2";
import type net from "node:net";
import type { ConnectionLimits } from "./connection-limits.js";

type Timeouts = Pick<ConnectionLimits, "headersTimeoutMs" | "idleTimeoutMs" | "requestTimeoutMs">;

/** A deadline that never keeps the process alive by itself. */
export function after(ms: number, fn: () => void): NodeJS.Timeout {
  return setTimeout(fn, ms).unref();
}

/**
 * Deadlines for the HTTP/1.1 server. It is handed sockets by `emit("connection")` and never
 * listens, so Node's own headersTimeout and requestTimeout (checked by a timer that listen
 * starts) never run: these replace them. Returns the function to call when a connection has
 * no request in flight any more.
 */
export function http1Timeouts(server: http.Server, t: Timeouts): (socket: net.Socket) => void {
  // Each connection waits for its next request head against one deadline: a complete head
  // clears it; the end of the last response in flight arms it again (idle).
  const waiting = new WeakMap<net.Socket, NodeJS.Timeout>();
  const wait = (socket: net.Socket, ms: number) => {
    clearTimeout(waiting.get(socket));
    if (!socket.destroyed)
      waiting.set(
        socket,
        after(ms, () => socket.destroy()),
      );
  };
  server.on("connection", (socket: net.Socket) => {
    wait(socket, t.headersTimeoutMs);
    socket.once("close", () => clearTimeout(waiting.get(socket)));
  });
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    clearTimeout(waiting.get(socket));
    // The body must arrive in time too: a request trickled byte by byte is cut.
    const body = after(t.requestTimeoutMs, () => socket.destroy());
    const done = () => clearTimeout(body);
    req.once("end", done);
    res.once("close", done);
  });
  return (socket) => wait(socket, t.idleTimeoutMs);
}

/**
 * The same deadlines for HTTP/2 sessions: the first stream must open within the header
 * timeout, each request's body must end within the request timeout, and a session with no
 * stream open is closed (GOAWAY) after the idle timeout. A listen stream open for hours is
 * not idle: only a session without streams is.
 */
export function http2Timeouts(session: http2.ServerHttp2Session, t: Timeouts): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined = after(t.headersTimeoutMs, () => session.destroy());
  session.on("stream", (stream: http2.ServerHttp2Stream) => {
    open++;
    clearTimeout(timer);
    let body: NodeJS.Timeout | undefined;
    if (!stream.endAfterHeaders) {
      body = after(t.requestTimeoutMs, () => stream.close(http2.constants.NGHTTP2_CANCEL));
      stream.once("end", () => clearTimeout(body));
    }
    stream.once("close", () => {
      clearTimeout(body);
      if (--open > 0 || session.closed || session.destroyed) return;
      timer = after(t.idleTimeoutMs, () => session.close());
    });
  });
  session.once("close", () => clearTimeout(timer));
}
