import type { HandlerContext } from "@connectrpc/connect";
import { callerOf } from "../../auth/caller.js";
import { scopedUserFilter } from "../../auth/policy.js";
import type { Queryable } from "../../db/engine/db.js";
import { availableWindows, largestCapacity, poolExists } from "../../db/store/availability.js";
import { readPage } from "../../db/store/query-reservations.js";
import { invalidArgument, notFound } from "../../domain/errors.js";
import type { ReservationFilter } from "../../domain/reservation.js";
import {
  parseId,
  parseName,
  parseOptionalName,
  parseOptionalTime,
  parseQuantity,
  parseWindow,
} from "../../domain/validate.js";
import type {
  AvailableRequest,
  FilterRequest,
  QueryRequest,
} from "../../gen/reservation/reservation_pb.js";
import {
  durationToMicros,
  microsToTimestamp,
  reservationToProto,
  statusFromProto,
  timestampToMicros,
} from "../../protocol/convert.js";
import type { ChangeFeed } from "../feed/change-feed.js";
import type { Secrets } from "./secrets.js";

/** Default and largest `filter` page. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** The filters `query` and `filter` share. */
export function parseFilter(req: QueryRequest | FilterRequest): ReservationFilter {
  const start = parseOptionalTime("start", timestampToMicros("start", req.start));
  const end = parseOptionalTime("end", timestampToMicros("end", req.end));
  if (start !== undefined && end !== undefined && start >= end) {
    throw invalidArgument("start must be before end");
  }
  return {
    resourceId: parseOptionalName("resource_id", req.resourceId),
    userId: parseOptionalName("user_id", req.userId),
    groupId: req.groupId === "" ? undefined : parseId(req.groupId, "group_id"),
    status: statusFromProto(req.status),
    start,
    end,
    desc: req.desc,
  };
}

/** The filters as `parseFilter` reads them, with a user's listing kept to its own reservations. */
export function callerFilter(
  req: QueryRequest | FilterRequest,
  ctx: HandlerContext,
): ReservationFilter {
  const filter = parseFilter(req);
  return { ...filter, userId: scopedUserFilter(callerOf(ctx), filter.userId) };
}

/** `filter` (keyset pages) and `available` (free windows). */
export function createBrowseHandlers(db: Queryable, feed: ChangeFeed, secrets: Secrets) {
  return {
    async filter(req: FilterRequest, ctx: HandlerContext) {
      const filter = callerFilter(req, ctx);
      if (req.pageSize < 0) throw invalidArgument("page_size must not be negative");
      const size = Math.min(req.pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
      const t = await secrets.pageTokens();
      const from = req.pageToken === "" ? undefined : t.decode(filter, req.pageToken);
      // Taken before the rows are read: listen from it misses nothing the page may not show.
      const cursor = (await secrets.cursors()).encode(await feed.position());
      const page = await readPage(db, filter, from, size, ctx.signal);
      return {
        reservations: page.rows.map(reservationToProto),
        nextPageToken: page.next ? t.encode(filter, page.next) : "",
        cursor,
      };
    },

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
      const min = durationToMicros("min_duration", req.minDuration);
      const quantity = parseQuantity("quantity", req.quantity);
      // No window is longer than the range; asking for one must not overflow the query.
      const windows =
        min > range.end - range.start
          ? []
          : await availableWindows(db, target, range, min, ctx.signal, quantity);
      if (pool && windows.length === 0 && !(await poolExists(db, pool))) {
        throw notFound(`pool ${JSON.stringify(pool)} has no resources`);
      }
      if (windows.length === 0 && quantity > 1) {
        const most = await largestCapacity(db, target, ctx.signal);
        if (quantity > most) {
          const of = pool ? `any resource of pool ${JSON.stringify(pool)}` : target.resourceId;
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
