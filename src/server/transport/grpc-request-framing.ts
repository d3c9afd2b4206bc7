import * as grpc from "@grpc/grpc-js";

/** The part of grpc-js's server call (1.10+, not in its typings) that decompresses a message. */
interface Decompresses {
  decompressMessage(message: Buffer, encoding: string): Buffer | Promise<Buffer>;
}

const invalid = (details: string): Pick<grpc.StatusObject, "code" | "details"> => ({
  code: grpc.status.INVALID_ARGUMENT,
  details,
});

/**
 * Judges the framing of a message before grpc-js does. grpc-js reads a message flagged as
 * compressed on a request that names no encoding as if it were not compressed, and answers a
 * corrupt compressed one with INTERNAL; both are the caller's fault, as on the HTTP port.
 * `message` is the whole frame: its first byte is the compressed flag.
 */
function checkDecompression(call: Partial<Decompresses>): void {
  if (typeof call.decompressMessage !== "function") return;
  const decompress = call.decompressMessage.bind(call);
  const judged = async (message: Buffer, encoding: string) => {
    if (encoding === "identity") {
      throw invalid("a message flagged as compressed, but the request names no encoding");
    }
    try {
      return await decompress(message, encoding);
    } catch (err) {
      // Too large (RESOURCE_EXHAUSTED) and an unknown encoding (UNIMPLEMENTED) stay as they are.
      if ((err as Partial<grpc.StatusObject>)?.code !== grpc.status.INTERNAL) throw err;
      throw invalid(`the ${encoding} compressed message does not decompress`);
    }
  };
  // A message not flagged as compressed is grpc-js's to read as it is (synchronously, with
  // nothing to judge): only a compressed one takes the checked path and its promise.
  call.decompressMessage = (message, encoding) =>
    message[0] === 1 ? judged(message, encoding) : decompress(message, encoding);
}

/**
 * A method that takes one request message and got none: the message was truncated, or never
 * sent. grpc-js answers UNIMPLEMENTED ("Received no request message"), as if the method were
 * of another kind; it is a bad request.
 */
function requireMessage(call: grpc.ServerInterceptingCallInterface): void {
  const start = call.start.bind(call);
  call.start = (listener) => {
    let received = false;
    start({
      onReceiveMetadata: (metadata) => listener.onReceiveMetadata(metadata),
      onReceiveMessage: (message) => {
        received = true;
        listener.onReceiveMessage(message);
      },
      onReceiveHalfClose: () => {
        if (received) listener.onReceiveHalfClose();
        else call.sendStatus(invalid("the request message is missing or truncated"));
      },
      onCancel: () => listener.onCancel(),
    });
  };
}

/**
 * A `grpc-timeout` header grpc-js cannot read: it answers INTERNAL, the caller's fault all the
 * same (the HTTP port answers INVALID_ARGUMENT). grpc-js sends that status itself, from its
 * own call, just after the call is made.
 */
function refuseBadTimeout(call: grpc.ServerInterceptingCallInterface): void {
  const send = call.sendStatus.bind(call);
  call.sendStatus = (status) => {
    const bad =
      status.code === grpc.status.INTERNAL && status.details.startsWith("Invalid grpc-timeout");
    send(bad ? invalid("the grpc-timeout header is not a valid timeout") : status);
  };
}

/**
 * The native port's check of request framing, as a grpc-js server interceptor: a truncated or
 * corrupt message, compressed or not, or an unreadable timeout is INVALID_ARGUMENT, as on every
 * protocol of the HTTP port. It adjusts grpc-js's own call in place rather than wrapping it in another layer, which
 * would cost every call an extra object and closures for what only a bad request needs.
 */
export const requestFraming: grpc.ServerInterceptor = (method, call) => {
  refuseBadTimeout(call);
  checkDecompression(call as Partial<Decompresses>);
  if (!method.requestStream) requireMessage(call);
  return call as grpc.ServerInterceptingCall;
};
