import type { HandlerContext } from "@connectrpc/connect";
import type { Queryable } from "../../db/engine/db.js";
import { availableWindows, largestCapacity, poolExists } from "../../db/store/availability.js";
import { invalidArgument, notFound, quote } from "../../domain/errors.js";
import { parseDuration, parseName, parseQuantity, parseWindow } from "../../domain/validate.js";
import type { AvailableRequest } from "../../gen/reservation/reservation_pb.js";
import { durationToMicros, microsToTimestamp, timestampToMicros } from "../../protocol/convert.js";

/** The `available` rpc: the free windows of a resource, or of every resource of a pool. */
export function createAvailableHandler(db: Queryable) {
  return {
    // Open to every authenticated caller: it answers with bare windows, never whose or why.
    async available(req: AvailableRequest, ctx: HandlerContext) {
      if (req.pool !== "" && req.resourceId !== "") {
        throw invalidArgument("set either resource_id or pool, not both");
      }
      const pool = req.pool === "" ? undefined : parseName("pool", req.pool);
      const target = pool ? { pool } : { resourceId: parseName("resource_id", req.resourceId) };
      const range = parseWindow(
        timestampToMicros("start", req.start),
        timestampToMicros("end", req.end),
      );
      const min = parseDuration("min_duration", durationToMicros("min_duration", req.minDuration));
      const quantity = parseQuantity("quantity", req.quantity);
      // No window is longer than the range; asking for one must not overflow the query.
      const windows =
        min > range.end - range.start
          ? []
          : await availableWindows(db, target, range, min, ctx.signal, quantity);
      if (pool && windows.length === 0 && !(await poolExists(db, pool))) {
        throw notFound(`pool ${quote(pool)} has no resources`);
      }
      if (windows.length === 0 && quantity > 1) {
        const most = await largestCapacity(db, target, ctx.signal);
        if (quantity > most) {
          const of = pool ? `any resource of pool ${quote(pool)}` : target.resourceId;
          throw invalidArgument(`quantity ${quantity} is more than the ${most} units of ${of}`);
        }
      }
      return {
        windows: windows.map((w) => ({
          start: microsToTimestamp(w.start),
          end: microsToTimestamp(w.end),
          // Named for a pool, where windows of different resources interleave.
          resourceId: pool ? w.resourceId : "",
          free: w.free,
        })),
      };
    },
  };
}
