import type { HandlerContext } from "@connectrpc/connect";
import type { Queryable } from "../../db/engine/db.js";
import * as checkIns from "../../db/store/check-in.js";
import { reserveOrWait } from "../../db/store/waitlist.js";
import { failedPrecondition, invalidArgument, notFound, quote } from "../../domain/errors.js";
import type { NewReservation } from "../../domain/reservation.js";
import { formatInstant } from "../../domain/time.js";
import { parseId } from "../../domain/validate.js";
import type { CheckInRequest } from "../../gen/reservation/reservation_pb.js";
import { reservationToProto } from "../../protocol/convert.js";

/** `checkIn`, and the waiting kind of `reserve`. */
export function createLifecycleHandlers(
  db: Queryable,
  mayActOn: (ctx: HandlerContext, id: string) => Promise<void>,
) {
  return {
    /** Sets checked_in_at once, from start - check_in_opens until the end. */
    async checkIn(req: CheckInRequest, ctx: HandlerContext) {
      const id = parseId(req.id);
      await mayActOn(ctx, id);
      const outcome = await checkIns.checkIn(db, id);
      if (!outcome) throw notFound(`reservation ${id} not found`);
      const r = outcome.reservation;
      switch (outcome.kind) {
        case "checked_in":
          return { reservation: reservationToProto(r) };
        case "early":
          throw failedPrecondition(
            `reservation ${id} cannot be checked in before ${formatInstant(outcome.at ?? r.start)}`,
          );
        case "late":
          throw failedPrecondition(`reservation ${id} ended at ${formatInstant(r.end)}`);
        case "not_live": {
          const why =
            r.cancelReason === "no-show"
              ? "was released as a no-show"
              : r.status === "waiting"
                ? "is waiting: it can be checked in once promoted"
                : r.expiresAt !== undefined && r.expiresAt <= r.updatedAt
                  ? `was a hold that expired at ${formatInstant(r.expiresAt)}`
                  : `is ${r.status}`;
          throw failedPrecondition(`reservation ${id} ${why} and cannot be checked in`);
        }
      }
    },

    /**
     * Reserves `input`, or when its window is taken stores it WAITING (an OK answer). The
     * caller has validated it; a pool or a blocked window cannot wait.
     */
    async reserveWaiting(input: NewReservation, pool: string | undefined, ctx: HandlerContext) {
      if (pool !== undefined) {
        throw invalidArgument("a pool reserve cannot wait (wait is for one resource for now)");
      }
      if (input.status === "blocked") throw invalidArgument("a blocked window cannot wait");
      if (input.expiresAt !== undefined) {
        throw invalidArgument(
          "a reserve that waits takes hold_seconds, which start when it is promoted, not expires_at",
        );
      }
      const outcome = await reserveOrWait(db, input, ctx.signal);
      switch (outcome.kind) {
        case "rule":
          throw failedPrecondition(outcome.message);
        case "invalid":
          throw invalidArgument(outcome.message);
        case "mismatch":
          throw invalidArgument(
            `request_id ${quote(input.requestId ?? "")} was already used with a different request`,
          );
        default:
          return { reservation: reservationToProto(outcome.reservation) };
      }
    },
  };
}
