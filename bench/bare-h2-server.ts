// The transport's ceiling: a bare node:http2 server that answers every POST the way a gRPC
// server answers grpc.health.v1.Health/Check (one framed HealthCheckResponse{SERVING}, then
// trailers), with no gRPC library in the way. Prints "listening on PORT".
import { constants, createServer } from "node:http2";

// 5-byte gRPC frame header (uncompressed, length 2), then field 1 varint 1 = SERVING.
const SERVING = Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01]);

const server = createServer();
server.on("stream", (stream) => {
  stream.on("data", () => {});
  stream.on("end", () => {
    if (stream.destroyed) return;
    stream.respond(
      { [constants.HTTP2_HEADER_STATUS]: 200, "content-type": "application/grpc" },
      { waitForTrailers: true },
    );
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(SERVING);
  });
  stream.on("error", () => {});
});
server.listen(0, "127.0.0.1", () => {
  const addr = server.address();
  process.stdout.write(`listening on ${typeof addr === "object" && addr ? addr.port : 0}\n`);
});
// Nothing to flush: leave at once, even with clients still connected.
process.once("SIGTERM", () => process.exit(0));
