import type { HandlerContext } from "@connectrpc/connect";
import { callerOf } from "../../auth/caller.js";
import { scopedUserFilter } from "../../auth/policy.js";
import type { Queryable } from "../../db/engine/db.js";
import { readPage } from "../../db/store/query-reservations.js";
import { invalidArgument } from "../../domain/errors.js";
import type { ReservationFilter } from "../../domain/reservation.js";
import { parseId, parseOptionalName, parseOptionalTime } from "../../domain/validate.js";
import type { FilterRequest, QueryRequest } from "../../gen/reservation/reservation_pb.js";
import { reservationToProto, statusFromProto, timestampToMicros } from "../../protocol/convert.js";
import type { ChangeFeed } from "../feed/change-feed.js";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "./page-token.js";
import type { Secrets } from "./secrets.js";

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

/** The `filter` rpc: keyset pages of reservations, with a cursor to listen from. */
export function createFilterHandler(db: Queryable, feed: ChangeFeed, secrets: Secrets) {
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
  };
}
