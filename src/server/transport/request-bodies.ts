import { promisify } from "node:util";
import zlib from "node:zlib";
import { type DescMessage, fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";

/** How a request body is framed, and which header names its compression. */
interface Framing {
  readonly enveloped: boolean;
  /** Protobuf binary; JSON is left to Connect, whose parse answers INVALID_ARGUMENT already. */
  readonly binary: boolean;
  readonly encodingHeader: string;
}

/** Unary Connect JSON is not enveloped and its parse errors are right: left alone. */
function framingOf(contentType: string | null): Framing | undefined {
  const type = (contentType ?? "").split(";", 1)[0]?.trim().toLowerCase() ?? "";
  if (type === "application/proto") {
    return { enveloped: false, binary: true, encodingHeader: "content-encoding" };
  }
  const json = type.endsWith("+json");
  if (type === "application/connect+proto" || type === "application/connect+json") {
    return { enveloped: true, binary: !json, encodingHeader: "connect-content-encoding" };
  }
  if (/^application\/grpc(-web)?(\+proto|\+json)?$/.test(type)) {
    return { enveloped: true, binary: !json, encodingHeader: "grpc-encoding" };
  }
  return undefined;
}

// The encodings the HTTP port accepts (connect-node's gzip and brotli), by their names.
const DECOMPRESS = new Map<string, (b: Uint8Array, o: zlib.ZlibOptions) => Promise<Buffer>>([
  ["gzip", promisify(zlib.gunzip)],
  ["br", promisify(zlib.brotliDecompress)],
]);

const OVERSIZE = Symbol("oversize");

async function decompress(bytes: Uint8Array, encoding: string, maxBytes: number) {
  const inflate = DECOMPRESS.get(encoding);
  if (!inflate || bytes.byteLength === 0) return bytes;
  try {
    return await inflate(bytes, { maxOutputLength: maxBytes });
  } catch (err) {
    // Too large is RESOURCE_EXHAUSTED, which Connect's own check answers.
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") return OVERSIZE;
    return undefined;
  }
}

/** Why `body` is not a valid request of `schema`, or undefined if it is (or Connect judges it). */
async function fault(
  body: Uint8Array,
  framing: Framing,
  encoding: string | undefined,
  schema: DescMessage,
  maxBytes: number,
): Promise<string | undefined> {
  const messages: Array<{ data: Uint8Array; compressed: boolean }> = [];
  if (!framing.enveloped) messages.push({ data: body, compressed: encoding !== undefined });
  else {
    const view = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    for (let at = 0; at < body.byteLength; ) {
      // A truncated envelope, or flags only a server sends: Connect answers those itself.
      if (body.byteLength - at < 5) return undefined;
      const flags = view.readUInt8(at);
      const end = at + 5 + view.readUInt32BE(at + 1);
      if (end > body.byteLength || (flags & ~1) !== 0) return undefined;
      if (flags === 1 && encoding === undefined) {
        return "a message flagged as compressed, but the request names no encoding";
      }
      messages.push({ data: body.subarray(at + 5, end), compressed: flags === 1 });
      at = end;
    }
  }
  // Every method checked here takes exactly one message: none at all is a bad request (Connect
  // would answer UNIMPLEMENTED, as if the method were of another kind).
  if (messages.length === 0) return "the request message is missing or truncated";
  for (const { data, compressed } of messages) {
    const plain = compressed && encoding ? await decompress(data, encoding, maxBytes) : data;
    if (plain === OVERSIZE) return undefined;
    if (plain === undefined) return `the ${encoding} compressed message does not decompress`;
    if (!framing.binary) continue;
    try {
      fromBinary(schema, plain);
    } catch {
      return `request is not a valid ${schema.typeName}`;
    }
  }
  return undefined;
}

/**
 * The request with its binary body checked before Connect parses it. Connect answers a body
 * that does not parse, a compressed-flagged message without an encoding and a corrupt
 * compressed one with INTERNAL (HTTP 500); they are the caller's fault, so the body fails
 * here first with INVALID_ARGUMENT, which Connect then encodes for each protocol. Bodies
 * past `maxBytes` pass unread: Connect's limit answers those with RESOURCE_EXHAUSTED.
 */
function checkedRequest(
  req: UniversalServerRequest,
  schema: DescMessage,
  maxBytes: number,
): UniversalServerRequest {
  const framing = framingOf(req.header.get("content-type"));
  const source = req.body;
  if (
    !framing ||
    source === null ||
    typeof source !== "object" ||
    !(Symbol.asyncIterator in source)
  ) {
    return req;
  }
  const named = req.header.get(framing.encodingHeader) ?? "identity";
  const encoding = named === "identity" ? undefined : named;
  // An unknown encoding is UNIMPLEMENTED, as the gRPC and Connect protocols require.
  if (encoding !== undefined && !DECOMPRESS.has(encoding)) return req;
  async function* body(): AsyncIterable<Uint8Array> {
    const it = (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      chunks.push(r.value);
      size += r.value.byteLength;
      if (size > maxBytes + 5) {
        yield* chunks;
        for (let rest = await it.next(); !rest.done; rest = await it.next()) yield rest.value;
        return;
      }
    }
    const whole = Buffer.concat(chunks);
    const why = await fault(whole, framing as Framing, encoding, schema, maxBytes);
    if (why) throw new ConnectError(why, Code.InvalidArgument);
    yield whole;
  }
  return { ...req, body: body() };
}

/**
 * `handler` with its request bodies checked first (see checkedRequest). Only methods that
 * take one request message: a client stream's body is not whole until the client ends it,
 * so it is not held back (Connect's own parse judges those).
 */
export function checkingBodies(handler: UniversalHandler, maxBytes: number): UniversalHandler {
  const kind = handler.method.methodKind;
  if (kind !== "unary" && kind !== "server_streaming") return handler;
  const schema = handler.method.input;
  return Object.assign(
    (req: UniversalServerRequest) => handler(checkedRequest(req, schema, maxBytes)),
    handler,
  );
}
