import { connect } from "node:http2";
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
      let status: string | undefined;
      let message = "";
      const read = (headers: Record<string, unknown>) => {
        if (headers["grpc-status"] !== undefined) status = String(headers["grpc-status"]);
        if (headers["grpc-message"] !== undefined) message = String(headers["grpc-message"]);
      };
      req.on("response", read);
      req.on("trailers", read);
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("error", reject);
      req.on("end", () => {
        if (status === "0") resolve(unframe(Buffer.concat(chunks)));
        else reject(new H2GrpcError(Number(status ?? 2), decodeURIComponent(message)));
      });
      req.end(frame(body));
    });
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
