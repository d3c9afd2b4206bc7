import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { ReservationService } from "../../src/gen/reservation/reservation_pb.js";
import { ResourceService } from "../../src/gen/reservation/resource_pb.js";
import { loadToken } from "./token.js";

/** The generated rsvp client the page uses for every call. */
export type Rsvp = Client<typeof ReservationService>;

/** The generated client of the resource catalog (pools, buffers). */
export type Catalog = Client<typeof ResourceService>;

/** Sends the saved token, if any, as `authorization: Bearer …` with every call. */
const bearer: Interceptor = (next) => (req) => {
  const token = loadToken();
  if (token) req.header.set("authorization", `Bearer ${token}`);
  return next(req);
};

let shared: Transport | undefined;

/**
 * One transport for both services: same origin, so no CORS. gRPC-Web rather than Connect: it
 * answers every call with HTTP 200 and puts a refusal in the trailers, where the Connect
 * protocol answers a unary refusal with an HTTP error status (a clash is 409), which the
 * browser logs as a failed load in the console though the page expects and explains it.
 */
function transport(): Transport {
  // Binary protobuf keeps a week of thousands of reservations small on the wire.
  shared ??= createGrpcWebTransport({
    baseUrl: location.origin,
    useBinaryFormat: true,
    interceptors: [bearer],
  });
  return shared;
}

/** A client of the service that served the page. */
export function createRsvp(): Rsvp {
  return createClient(ReservationService, transport());
}

/** A client of the same service's resource catalog. */
export function createCatalog(): Catalog {
  return createClient(ResourceService, transport());
}
