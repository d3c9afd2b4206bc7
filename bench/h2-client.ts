import { type ClientHttp2Stream, connect, constants } from "node:http2";
import {
  create,
  type DescMethodServerStreaming,
  type DescMethodUnary,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";

/** A failed call, with its gRPC status code. */
export class H2GrpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/**
 * Reads a call's gRPC status from its headers or trailers; the returned function gives the
 * failure once the call is over (undefined for OK; a call that ended without one is UNKNOWN).
 */
function statusOf(req: ClientHttp2Stream): () => H2GrpcError | undefined {
  let status: string | undefined;
  let message = "";
  const read = (headers: Record<string, unknown>) => {
    if (headers["grpc-status"] !== undefined) status = String(headers["grpc-status"]);
    if (headers["grpc-message"] !== undefined) message = String(headers["grpc-message"]);
  };
  req.on("response", read);
  req.on("trailers", read);
  return () =>
    status === "0" ? undefined : new H2GrpcError(Number(status ?? 2), decodeURIComponent(message));
}

/** The messages of a complete, uncompressed gRPC response body. */
function unframe(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at + 5 <= body.length; ) {
    const len = body.readUInt32BE(at + 1);
    out.push(body.subarray(at + 5, at + 5 + len));
    at += 5 + len;
  }
  return out;
}

/** An open server-streaming call, its messages handed over as they arrive. */
export interface H2Stream {
  /** Resolves once the response headers arrived: the server has taken the call. */
  readonly opened: Promise<void>;
  /** Resolves when the stream ends with OK or was cancelled here; rejects on another status. */
  readonly done: Promise<void>;
  cancel(): void;
}

/**
 * The leanest native-gRPC client there is: one node:http2 session, each call one POST with a
 * framed protobuf body, the status read from the trailers. No interceptors, no channel state
 * machine: it lets the load generator spend its CPU on load instead of on itself.
 */
export class H2GrpcChannel {
  private readonly session;

  constructor(address: string) {
    this.session = connect(`http://${address}`);
    this.session.on("error", () => {});
  }

  /** One call by path; resolves to the response messages (one for a unary rpc). */
  call(path: string, body: Uint8Array): Promise<Buffer[]> {
    return new Promise((resolve, reject) => {
      const req = this.session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
      });
      const chunks: Buffer[] = [];
      const status = statusOf(req);
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("error", reject);
      req.on("end", () => {
        const error = status();
        if (error) reject(error);
        else resolve(unframe(Buffer.concat(chunks)));
      });
      req.end(frame(body));
    });
  }

  /**
   * A server-streaming call by path: `onMessage` gets each message's bytes as soon as its
   * frame is complete, so a listener's latency is the network's, not the end of the stream's.
   */
  stream(path: string, body: Uint8Array, onMessage: (message: Buffer) => void): H2Stream {
    const req = this.session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
    });
    let cancelled = false;
    let pending: Buffer = Buffer.alloc(0);
    req.on("data", (chunk: Buffer) => {
      let buf: Buffer = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (buf.length >= 5) {
        const len = buf.readUInt32BE(1);
        if (buf.length < 5 + len) break;
        onMessage(buf.subarray(5, 5 + len));
        buf = buf.subarray(5 + len);
      }
      pending = buf;
    });
    const opened = new Promise<void>((resolve, reject) => {
      req.once("response", () => resolve());
      req.once("error", reject);
    });
    const done = new Promise<void>((resolve, reject) => {
      const status = statusOf(req);
      req.on("error", (err) => (cancelled ? resolve() : reject(err)));
      req.on("close", () => {
        const error = status();
        if (cancelled || !error) resolve();
        else reject(error);
      });
    });
    opened.catch(() => {});
    req.end(frame(body));
    return {
      opened,
      done,
      cancel: () => {
        cancelled = true;
        req.close(constants.NGHTTP2_CANCEL);
      },
    };
  }

  /** A typed unary call of a protobuf-es service method. */
  async unary<I extends DescMethodUnary>(
    service: DescService,
    method: I,
    init: MessageInitShape<I["input"]>,
  ): Promise<MessageShape<I["output"]>> {
    const body = toBinary(method.input, create(method.input, init));
    const [reply] = await this.call(`/${service.typeName}/${method.name}`, body);
    return fromBinary(method.output, reply ?? new Uint8Array()) as MessageShape<I["output"]>;
  }

  /** A server-streaming call read to its end; resolves to the number of messages. */
  async drain<I extends DescMethodServerStreaming>(
    service: DescService,
    method: I,
    init: MessageInitShape<I["input"]>,
  ): Promise<number> {
    const body = toBinary(method.input, create(method.input, init));
    return (await this.call(`/${service.typeName}/${method.name}`, body)).length;
  }

  close(): void {
    this.session.close();
  }
}
