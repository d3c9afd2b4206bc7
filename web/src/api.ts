import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ReservationService } from "../../src/gen/reservation/reservation_pb.js";
import { loadToken } from "./token.js";

/** The generated rsvp client the page uses for every call. */
export type Rsvp = Client<typeof ReservationService>;

/** Sends the saved token, if any, as `authorization: Bearer …` with every call. */
const bearer: Interceptor = (next) => (req) => {
  const token = loadToken();
  if (token) req.header.set("authorization", `Bearer ${token}`);
  return next(req);
};

/** A client of the service that served the page: same origin, so no CORS. */
export function createRsvp(): Rsvp {
  // Binary protobuf keeps a week of thousands of reservations small on the wire.
  const transport = createConnectTransport({
    baseUrl: location.origin,
    useBinaryFormat: true,
    interceptors: [bearer],
  });
  return createClient(ReservationService, transport);
}
