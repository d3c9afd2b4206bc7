import type { ServiceImpl } from "@connectrpc/connect";
import type { Db } from "../db/db.js";
import { queryReservations } from "../db/query-reservations.js";
import * as reservations from "../db/reservations.js";
import { createReserveBatcher } from "../db/reserve-batcher.js";
import { conflictError } from "../domain/conflict.js";
import { failedPrecondition, invalidArgument, notFound } from "../domain/errors.js";
import type { Reservation, ReservationFilter } from "../domain/reservation.js";
import { parseId, parseNewReservation, parseNote, parseOptionalName } from "../domain/validate.js";
import type { QueryRequest, ReservationService } from "../gen/reservation/reservation_pb.js";
import type { ChangeFeed } from "./change-feed.js";
import { reservationToProto, statusFromProto, timestampToMicros } from "./convert.js";
import { createListenHandler } from "./listen-handler.js";

/** What the handlers need. */
export interface ServiceDeps {
  readonly db: Db;
  readonly feed: ChangeFeed;
}

function found(id: string, r: Reservation | undefined): Reservation {
  if (!r) throw notFound(`reservation ${id} not found`);
  return r;
}

function parseFilter(req: QueryRequest): ReservationFilter {
  const start = timestampToMicros("start", req.start);
  const end = timestampToMicros("end", req.end);
  if (start !== undefined && end !== undefined && start >= end) {
    throw invalidArgument("start must be before end");
  }
  return {
    resourceId: parseOptionalName("resource_id", req.resourceId),
    userId: parseOptionalName("user_id", req.userId),
    status: statusFromProto(req.status),
    start,
    end,
    desc: req.desc,
  };
}

/**
 * The reservation service: one set of handlers that every transport (native gRPC, Connect,
 * gRPC-Web) serves. Handlers throw RsvpError for anything the caller did; the transports map
 * errors once, at their boundary.
 */
export function createReservationService(
  deps: ServiceDeps,
): ServiceImpl<typeof ReservationService> {
  const { db } = deps;
  const batcher = createReserveBatcher(db);
  return {
    async reserve(req) {
      const r = req.reservation;
      if (!r) throw invalidArgument("reservation is required");
      const input = parseNewReservation({
        userId: r.userId,
        resourceId: r.resourceId,
        status: statusFromProto(r.status),
        start: timestampToMicros("start", r.start),
        end: timestampToMicros("end", r.end),
        note: r.note,
      });
      const outcome = await batcher.reserve(input);
      if (!outcome.ok) throw conflictError(input.resourceId, input, outcome.conflict);
      return { reservation: reservationToProto(outcome.reservation) };
    },

    async confirm(req) {
      const id = parseId(req.id);
      const r = found(id, await reservations.confirm(db, id));
      if (r.status !== "confirmed") {
        throw failedPrecondition(`reservation ${id} is ${r.status} and cannot be confirmed`);
      }
      return { reservation: reservationToProto(r) };
    },

    async update(req) {
      const id = parseId(req.id);
      const note = parseNote(req.note);
      const r = found(id, await reservations.updateNote(db, id, note));
      if (r.status === "cancelled") {
        throw failedPrecondition(`reservation ${id} is cancelled and cannot be updated`);
      }
      return { reservation: reservationToProto(r) };
    },

    async cancel(req) {
      const id = parseId(req.id);
      return { reservation: reservationToProto(found(id, await reservations.cancel(db, id))) };
    },

    async get(req) {
      const id = parseId(req.id);
      return { reservation: reservationToProto(found(id, await reservations.get(db, id))) };
    },

    async *query(req, ctx) {
      const filter = parseFilter(req);
      for await (const page of queryReservations(db, filter)) {
        for (const r of page) yield reservationToProto(r);
        if (ctx.signal.aborted) return;
      }
    },

    listen: createListenHandler(deps.feed),
  };
}
