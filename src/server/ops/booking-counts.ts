import type { ServiceImpl } from "@connectrpc/connect";
import { Code, RsvpError } from "../../domain/errors.js";
import type { ReservationService } from "../../gen/reservation/reservation_pb.js";
import type { Metrics } from "./metrics.js";

type Impl = ServiceImpl<typeof ReservationService>;

/**
 * `impl` with every way of reserving counted: reservations made, and calls refused because a
 * window was taken. Counted from what the handlers answer, so a reservation made by a group or
 * a series counts as one made by `reserve` does.
 */
export function withBookingCounts(impl: Impl, metrics: Pick<Metrics, "booked" | "clashed">): Impl {
  const counted = async <T>(work: () => Promise<T>, made: (res: T) => number): Promise<T> => {
    try {
      const res = await work();
      metrics.booked(made(res));
      return res;
    } catch (err) {
      if (err instanceof RsvpError && err.code === Code.AlreadyExists) metrics.clashed();
      throw err;
    }
  };
  return {
    ...impl,
    reserve: (req, ctx) =>
      counted(
        async () => impl.reserve(req, ctx),
        () => 1,
      ),
    reserveAll: (req, ctx) =>
      counted(
        async () => impl.reserveAll(req, ctx),
        (res) => res.reservations?.length ?? 0,
      ),
    reserveSeries: (req, ctx) =>
      counted(
        async () => impl.reserveSeries(req, ctx),
        (res) => res.reservations?.length ?? 0,
      ),
  };
}
