import type http2 from "node:http2";
import { Code } from "@connectrpc/connect";

/** The HTTP port's three binary protocols. */
export type RawProtocol = "connect" | "grpc" | "grpc-web";
export const RAW_PROTOCOLS: readonly RawProtocol[] = ["connect", "grpc", "grpc-web"];

/** A gRPC length-prefixed message: flags, a 4-byte big-endian length, the bytes. */
export function envelope(bytes: Uint8Array, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(bytes.byteLength, 1);
  return Buffer.concat([head, bytes]);
}

/** Connect's JSON error code ("invalid_argument") as its number. */
function codeOfJson(text: string): number {
  const json = JSON.parse(text) as { code?: string; error?: { code?: string } };
  const name = json.error ? json.error.code : json.code;
  if (name === undefined) return json.error === undefined ? 0 : Code.Unknown;
  const pascal = name.replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());
  return Code[pascal as keyof typeof Code] ?? Code.Unknown;
}

/** The enveloped messages of a response body, as far as they are complete. */
function envelopes(body: Buffer): Array<{ flags: number; data: Buffer }> {
  const out: Array<{ flags: number; data: Buffer }> = [];
  for (let at = 0; body.length - at >= 5; ) {
    const end = at + 5 + body.readUInt32BE(at + 1);
    if (end > body.length) break;
    out.push({ flags: body.readUInt8(at), data: body.subarray(at + 5, end) });
    at = end;
  }
  return out;
}

/**
 * The status code (gRPC numbering) the HTTP port at `address` answers when `body` (one
 * message, or raw bytes when `raw`) is sent to `path` in `protocol` over HTTP/2. With
 * `openAfterMs`, a streaming call still open that long after it was sent has accepted its
 * request: OK. Without it, the call is awaited to its end.
 */
export async function rawCall(
  session: http2.ClientHttp2Session,
  protocol: RawProtocol,
  path: string,
  streaming: boolean,
  message: Uint8Array,
  extra: { headers?: Record<string, string>; raw?: boolean; openAfterMs?: number } = {},
): Promise<number> {
  const type =
    protocol === "grpc"
      ? "application/grpc"
      : protocol === "grpc-web"
        ? "application/grpc-web+proto"
        : streaming
          ? "application/connect+proto"
          : "application/proto";
  const enveloped = protocol !== "connect" || streaming;
  const req = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": type,
    ...(protocol === "connect" ? { "connect-protocol-version": "1" } : { te: "trailers" }),
    ...extra.headers,
  });
  const chunks: Buffer[] = [];
  let headers: http2.IncomingHttpHeaders = {};
  let trailers: http2.IncomingHttpHeaders = {};
  const ended = new Promise<boolean>((resolve, reject) => {
    // A stream still open `openAfterMs` after it was sent has accepted its request (a listen
    // sends its headers with its first event).
    const open = extra.openAfterMs;
    const timer = streaming && open ? setTimeout(() => resolve(false), open) : undefined;
    req.on("response", (h) => {
      headers = h;
    });
    req.on("trailers", (t) => {
      trailers = t;
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      clearTimeout(timer);
      resolve(true);
    });
    req.on("error", reject);
  });
  req.end(enveloped && !extra.raw ? envelope(message) : message);
  const done = await ended;
  req.close();
  if (!done) return 0;
  const body = Buffer.concat(chunks);
  const status = Number(headers[":status"]);
  if (protocol === "connect") {
    if (!streaming) return status === 200 ? 0 : codeOfJson(body.toString("utf8"));
    const end = envelopes(body).find((e) => e.flags === 2);
    return end ? codeOfJson(end.data.toString("utf8")) : codeOfJson(body.toString("utf8"));
  }
  const inHeaders = headers["grpc-status"] ?? trailers["grpc-status"];
  if (inHeaders !== undefined) return Number(inHeaders);
  const trailer = envelopes(body).find((e) => (e.flags & 0x80) !== 0);
  const match = trailer && /grpc-status:\s*(\d+)/i.exec(trailer.data.toString("latin1"));
  if (match) return Number(match[1]);
  throw new Error(`${protocol} ${path}: no status in the response (HTTP ${status})`);
}
