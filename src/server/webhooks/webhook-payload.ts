import { toJson } from "@bufbuild/protobuf";
import type { Change, ChangeOp } from "../../domain/change.js";
import type { Reservation } from "../../domain/reservation.js";
import { microsToIso } from "../../domain/time.js";
import { ReservationSchema } from "../../gen/reservation/reservation_pb.js";
import { reservationToProto } from "../../protocol/convert.js";

const TYPES: Record<ChangeOp, string> = {
  create: "reservation.created",
  update: "reservation.updated",
  delete: "reservation.deleted",
};

// The proto's canonical JSON (lowerCamelCase, RFC 3339 times), as Connect writes it.
const json = (r: Reservation) => toJson(ReservationSchema, reservationToProto(r));

/**
 * The JSON body of a change's delivery: its type, its commit time, and the reservation (with
 * what it was before, on updates) and the cursor a `listen` resumes after it from.
 */
export function webhookBody(change: Change, cursor: string): string {
  return JSON.stringify({
    type: TYPES[change.op],
    timestamp: microsToIso(change.committedAt),
    data: {
      reservation: json(change.reservation),
      ...(change.op === "update" && change.previous ? { previous: json(change.previous) } : {}),
      cursor,
    },
  });
}

/** The delivery's `webhook-id`: the same for every attempt, from any process. */
export const messageId = (change: Change) => `msg_${change.position.xid}_${change.position.seq}`;
