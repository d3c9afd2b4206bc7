// grpc-js's own floor: a plain grpc-js Server answering grpc.health.v1.Health/Check with an
// empty unary handler (the serialized HealthCheckResponse{SERVING}), with no interceptor, no
// observer and no rsvp code. Beside the bare node:http2 server it shows what grpc-js itself
// costs per call. Prints "listening on PORT".
import * as grpc from "@grpc/grpc-js";

// HealthCheckResponse: field 1 varint 1 = SERVING.
const SERVING = Buffer.from([0x08, 0x01]);
const same = (b: Buffer) => b;

const server = new grpc.Server();
server.addService(
  {
    Check: {
      path: "/grpc.health.v1.Health/Check",
      requestStream: false,
      responseStream: false,
      requestSerialize: same,
      requestDeserialize: same,
      responseSerialize: same,
      responseDeserialize: same,
    },
  },
  {
    Check: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, SERVING),
  },
);
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`listening on ${port}\n`);
});
// Nothing to flush: leave at once, even with clients still connected.
process.once("SIGTERM", () => process.exit(0));
