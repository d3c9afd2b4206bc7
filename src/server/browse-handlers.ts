import { availableWindows } from "../db/availability.js";
import type { Queryable } from "../db/db.js";
import { getSetting } from "../db/holds.js";
import { readPage } from "../db/query-reservations.js";
import { invalidArgument } from "../domain/errors.js";
import type { ReservationFilter } from "../domain/reservation.js";
import { parseName, parseOptionalName, parseWindow } from "../domain/validate.js";
import type {
  AvailableRequest,
  FilterRequest,
  QueryRequest,
} from "../gen/reservation/reservation_pb.js";
import {
  durationToMicros,
  microsToTimestamp,
  reservationToProto,
  statusFromProto,
  timestampToMicros,
} from "./convert.js";
import { createPageTokens } from "./page-token.js";

/** Default and largest `filter` page. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** The filters `query` and `filter` share. */
export function parseFilter(req: QueryRequest | FilterRequest): ReservationFilter {
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

/** `filter` (keyset pages) and `available` (free windows). */
export function createBrowseHandlers(db: Queryable) {
  let tokens: Promise<ReturnType<typeof createPageTokens>> | undefined;
  const pageTokens = () => {
    tokens ??= getSetting(db, "page_token_key").then(createPageTokens);
    tokens.catch(() => {
      tokens = undefined; // a database hiccup must not poison the cache
    });
    return tokens;
  };

  return {
    async filter(req: FilterRequest) {
      const filter = parseFilter(req);
      if (req.pageSize < 0) throw invalidArgument("page_size must not be negative");
      const size = Math.min(req.pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
      const t = await pageTokens();
      const from = req.pageToken === "" ? undefined : t.decode(filter, req.pageToken);
      const page = await readPage(db, filter, from, size);
      return {
        reservations: page.rows.map(reservationToProto),
        nextPageToken: page.next ? t.encode(filter, page.next) : "",
      };
    },

    async available(req: AvailableRequest) {
      const resourceId = parseName("resource_id", req.resourceId);
      const range = parseWindow(
        timestampToMicros("start", req.start),
        timestampToMicros("end", req.end),
      );
      const min = durationToMicros("min_duration", req.minDuration);
      const windows = await availableWindows(db, resourceId, range, min);
      return {
        windows: windows.map((w) => ({
          start: microsToTimestamp(w.start),
          end: microsToTimestamp(w.end),
        })),
      };
    },
  };
}
