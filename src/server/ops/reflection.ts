import {
  create,
  createRegistry,
  type DescFile,
  type DescService,
  fromBinary,
  type MessageInitShape,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { status } from "@grpc/grpc-js";
import {
  ServerReflection,
  type ServerReflectionRequest,
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema as V1ResponseSchema,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  ServerReflection as ServerReflectionV1Alpha,
  ServerReflectionRequestSchema as V1AlphaRequestSchema,
  ServerReflectionResponseSchema as V1AlphaResponseSchema,
} from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

type Response = MessageInitShape<typeof V1ResponseSchema>;

/** A service and its implementation, ready to be added to a server. */
export interface ServedService {
  readonly service: DescService;
  readonly impl: object;
}

/** Every file `files` need, each once, dependencies first. */
function withDependencies(files: Iterable<DescFile>, into = new Map<string, DescFile>()) {
  for (const file of files) {
    // file.name lacks the ".proto" that clients ask for and imports say.
    const name = file.proto.name;
    if (into.has(name)) continue;
    withDependencies(file.dependencies, into);
    into.set(name, file);
  }
  return into;
}

/**
 * gRPC server reflection (v1 and the v1alpha that older grpcurl and tools still ask for) over
 * `served` and itself, from the descriptors compiled into this build: no .proto files needed
 * at run time. Answers carry a file's transitive dependencies, so a client can build every
 * type.
 */
export function createReflection(served: readonly DescService[]): ServedService[] {
  const services = [...served, ServerReflection, ServerReflectionV1Alpha];
  const names = services.map((s) => s.typeName);
  const files = withDependencies(services.map((s) => s.file));
  const registry = createRegistry(...files.values());
  const encoded = new Map(
    [...files].map(([name, file]) => [name, toBinary(FileDescriptorProtoSchema, file.proto)]),
  );

  const fileResponse = (file: DescFile | undefined, what: string): Response["messageResponse"] => {
    if (!file) {
      return {
        case: "errorResponse",
        value: { errorCode: status.NOT_FOUND, errorMessage: `${what} not found` },
      };
    }
    // The requested file first, as other servers do; then what it imports.
    const needed = [file, ...[...withDependencies(file.dependencies).values()]];
    return {
      case: "fileDescriptorResponse",
      value: {
        fileDescriptorProto: needed.map((f) => encoded.get(f.proto.name) ?? new Uint8Array()),
      },
    };
  };

  const fileOfSymbol = (symbol: string): DescFile | undefined => {
    const desc = registry.get(symbol);
    if (desc) return desc.file;
    // package.Service.method: the method's service.
    const dot = symbol.lastIndexOf(".");
    const parent = dot > 0 ? registry.getService(symbol.slice(0, dot)) : undefined;
    return parent?.methods.some((m) => m.name === symbol.slice(dot + 1)) ? parent.file : undefined;
  };

  const answer = (req: ServerReflectionRequest): Response => {
    const base = { validHost: req.host, originalRequest: req };
    const r = req.messageRequest;
    switch (r.case) {
      case "listServices":
        return {
          ...base,
          messageResponse: {
            case: "listServicesResponse",
            value: { service: names.map((name) => ({ name })) },
          },
        };
      case "fileByFilename":
        return { ...base, messageResponse: fileResponse(files.get(r.value), `file ${r.value}`) };
      case "fileContainingSymbol":
        return {
          ...base,
          messageResponse: fileResponse(fileOfSymbol(r.value), `symbol ${r.value}`),
        };
      case "fileContainingExtension":
        // No file here declares extensions.
        return {
          ...base,
          messageResponse: fileResponse(
            undefined,
            `extension ${r.value.containingType}/${r.value.extensionNumber}`,
          ),
        };
      case "allExtensionNumbersOfType":
        return registry.getMessage(r.value)
          ? {
              ...base,
              messageResponse: {
                case: "allExtensionNumbersResponse",
                value: { baseTypeName: r.value, extensionNumber: [] },
              },
            }
          : { ...base, messageResponse: fileResponse(undefined, `type ${r.value}`) };
      default:
        return {
          ...base,
          messageResponse: {
            case: "errorResponse",
            value: { errorCode: status.INVALID_ARGUMENT, errorMessage: "empty request" },
          },
        };
    }
  };

  async function* info(requests: AsyncIterable<ServerReflectionRequest>) {
    for await (const req of requests) yield create(V1ResponseSchema, answer(req));
  }

  const v1: ServiceImpl<typeof ServerReflection> = { serverReflectionInfo: info };
  // v1alpha's messages are v1's, field for field: the same answers, re-encoded.
  const v1alpha: ServiceImpl<typeof ServerReflectionV1Alpha> = {
    async *serverReflectionInfo(requests) {
      async function* asV1() {
        for await (const req of requests) {
          yield fromBinary(ServerReflectionRequestSchema, toBinary(V1AlphaRequestSchema, req));
        }
      }
      for await (const res of info(asV1())) {
        yield fromBinary(V1AlphaResponseSchema, toBinary(V1ResponseSchema, res));
      }
    },
  };
  return [
    { service: ServerReflection, impl: v1 },
    { service: ServerReflectionV1Alpha, impl: v1alpha },
  ];
}
