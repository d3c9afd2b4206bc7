import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  create,
  createFileRegistry,
  type DescMessage,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import * as v1 from "../src/gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../src/gen/grpc/reflection/v1alpha/reflection_pb.js";
import { ReservationService } from "../src/gen/reservation/reservation_pb.js";
import { grpcServiceDefinition } from "../src/protocol/grpc-codec.js";
import type { App } from "../src/server/app.js";
import { memoryTarget } from "./helpers/embedded-template.js";
import { startServer } from "./helpers/harness.js";

type Api = {
  service: DescService;
  request: DescMessage;
};
const V1 = { service: v1.ServerReflection, request: v1.ServerReflectionRequestSchema };
const V1ALPHA = {
  service: v1alpha.ServerReflection,
  request: v1alpha.ServerReflectionRequestSchema,
};

/**
 * What grpcurl does: one bidi ServerReflectionInfo call on a plain grpc-js client, sending
 * `requests` and reading an answer to each.
 */
async function reflect(
  address: string,
  api: Api,
  requests: Array<MessageInitShape<typeof v1.ServerReflectionRequestSchema>>,
): Promise<v1.ServerReflectionResponse[]> {
  const Client = grpc.makeGenericClientConstructor(
    grpcServiceDefinition(api.service),
    "reflection",
  );
  const client = new Client(address, grpc.credentials.createInsecure()) as unknown as Record<
    string,
    () => grpc.ClientDuplexStream<unknown, MessageShape<DescMessage>>
  >;
  try {
    const call = client.serverReflectionInfo?.();
    assert.ok(call);
    for (const req of requests) call.write(create(api.request, req as never));
    call.end();
    const out: v1.ServerReflectionResponse[] = [];
    // v1alpha answers are v1's field for field: read them through one shape.
    for await (const res of call) out.push(res as unknown as v1.ServerReflectionResponse);
    return out;
  } finally {
    (client as unknown as grpc.Client).close();
  }
}

function descriptors(res: v1.ServerReflectionResponse | undefined) {
  assert.equal(res?.messageResponse.case, "fileDescriptorResponse", JSON.stringify(res));
  const bytes =
    res.messageResponse.case === "fileDescriptorResponse"
      ? res.messageResponse.value.fileDescriptorProto
      : [];
  return bytes.map((b) => fromBinary(FileDescriptorProtoSchema, b));
}

describe("server reflection", () => {
  let app: App;
  before(async () => {
    app = await startServer(await memoryTarget());
  });
  after(() => app.close());

  for (const [name, api] of [
    ["v1", V1],
    ["v1alpha", V1ALPHA],
  ] as const) {
    it(`${name}: lists the services served on the gRPC port`, async () => {
      const [res] = await reflect(app.grpcAddress, api, [
        { messageRequest: { case: "listServices", value: "" } },
      ]);
      assert.equal(res?.messageResponse.case, "listServicesResponse");
      const names = res.messageResponse.value.service.map((s) => s.name).sort();
      assert.deepEqual(names, [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "reservation.ReservationService",
        "reservation.ResourceService",
        "reservation.WebhookService",
      ]);
    });
  }

  it("describes ResourceService from its symbol", async () => {
    const [res] = await reflect(app.grpcAddress, V1, [
      { messageRequest: { case: "fileContainingSymbol", value: "reservation.ResourceService" } },
    ]);
    const files = descriptors(res);
    assert.equal(files[0]?.name, "reservation/resource.proto");
    const first = files[0];
    assert.ok(first);
    const byName = new Map(files.map((f) => [f.name, f]));
    const service = createFileRegistry(first, (name) => byName.get(name)).getService(
      "reservation.ResourceService",
    );
    assert.deepEqual(
      service?.methods.map((m) => m.name),
      ["PutResource", "GetResource", "ListResources", "DeleteResource"],
    );
  });

  it("describes ReservationService from its symbol: self-contained descriptors", async () => {
    const [res] = await reflect(app.grpcAddress, V1, [
      { messageRequest: { case: "fileContainingSymbol", value: "reservation.ReservationService" } },
    ]);
    const files = descriptors(res);
    assert.equal(files[0]?.name, "reservation/reservation.proto", "the file asked for comes first");
    assert.ok(files.some((f) => f.name === "google/protobuf/timestamp.proto"));
    // What a client without the .proto does: build every type from the answer alone.
    const first = files[0];
    assert.ok(first);
    const byName = new Map(files.map((f) => [f.name, f]));
    const registry = createFileRegistry(first, (name) => byName.get(name));
    const service = registry.getService("reservation.ReservationService");
    assert.ok(service);
    const methods = service.methods.map((m) => [m.name, m.methodKind]);
    assert.deepEqual(
      methods,
      ReservationService.methods.map((m) => [m.name, m.methodKind]),
    );
    for (const rpc of ["reserve", "confirm", "update", "cancel", "get"]) {
      assert.ok(
        methods.some(([n, k]) => n === rpc && k === "unary"),
        rpc,
      );
    }
    for (const rpc of ["query", "listen"]) {
      assert.ok(
        methods.some(([n, k]) => n === rpc && k === "server_streaming"),
        rpc,
      );
    }
    const reservation = registry.getMessage("reservation.Reservation");
    assert.ok(reservation?.fields.some((f) => f.name === "resource_id"));
    assert.equal(reservation?.field.start?.message?.typeName, "google.protobuf.Timestamp");
  });

  it("answers several requests on one stream: methods, types, files, and misses", async () => {
    const answers = await reflect(app.grpcAddress, V1, [
      {
        messageRequest: {
          case: "fileContainingSymbol",
          value: "reservation.ReservationService.listen",
        },
      },
      { messageRequest: { case: "fileContainingSymbol", value: "reservation.ListenResponse" } },
      { messageRequest: { case: "fileContainingSymbol", value: "grpc.health.v1.Health" } },
      { messageRequest: { case: "fileByFilename", value: "google/protobuf/timestamp.proto" } },
      { messageRequest: { case: "fileContainingSymbol", value: "no.Such.Thing" } },
      { host: "localhost", messageRequest: { case: "fileByFilename", value: "nope.proto" } },
    ]);
    assert.equal(answers.length, 6);
    assert.equal(descriptors(answers[0])[0]?.name, "reservation/reservation.proto");
    assert.equal(descriptors(answers[1])[0]?.name, "reservation/reservation.proto");
    assert.equal(descriptors(answers[2])[0]?.name, "grpc/health/v1/health.proto");
    assert.equal(descriptors(answers[3])[0]?.name, "google/protobuf/timestamp.proto");
    for (const miss of answers.slice(4)) {
      assert.equal(miss.messageResponse.case, "errorResponse");
      assert.equal(miss.messageResponse.value.errorCode, grpc.status.NOT_FOUND);
    }
    assert.equal(answers[5]?.validHost, "localhost");
    assert.equal(answers[5]?.originalRequest?.messageRequest.value, "nope.proto");
  });
});
