import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ReservationService } from "../../src/gen/reservation/reservation_pb.js";

/** The generated rsvp client the page uses for every call. */
export type Rsvp = Client<typeof ReservationService>;

/** A client of the service that served the page: same origin, so no CORS. */
export function createRsvp(): Rsvp {
  // Binary protobuf keeps a week of thousands of reservations small on the wire.
  const transport = createConnectTransport({ baseUrl: location.origin, useBinaryFormat: true });
  return createClient(ReservationService, transport);
}
