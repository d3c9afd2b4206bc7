import { create } from "@bufbuild/protobuf";
import type { Duration } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { callerOf } from "../../auth/caller.js";
import { assertMayManageResources } from "../../auth/policy.js";
import type { Queryable } from "../../db/engine/db.js";
import * as resources from "../../db/store/resources.js";
import { failedPrecondition, invalidArgument, notFound } from "../../domain/errors.js";
import type { Micros } from "../../domain/reservation.js";
import {
  parseResourceSpec,
  type Quota,
  type QuotaPeriod,
  type Resource,
} from "../../domain/resource.js";
import { parseName, parseOptionalName } from "../../domain/validate.js";
import {
  type Quota as QuotaMessage,
  QuotaPeriod as QuotaPeriodMessage,
  type Resource as ResourceMessage,
  ResourceSchema,
  type ResourceService,
} from "../../gen/reservation/resource_pb.js";
import { durationToMicros, microsToDuration, microsToTimestamp } from "../../protocol/convert.js";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "./browse-handlers.js";

const optionalDuration = (field: string, d: Duration | undefined) =>
  d === undefined ? undefined : durationToMicros(field, d);
const optionalToProto = (us: Micros | undefined) =>
  us === undefined ? undefined : microsToDuration(us);

const PERIODS: Record<QuotaPeriod, QuotaPeriodMessage> = {
  day: QuotaPeriodMessage.DAY,
  week: QuotaPeriodMessage.WEEK,
  month: QuotaPeriodMessage.MONTH,
};

function periodFromProto(p: QuotaPeriodMessage): QuotaPeriod | undefined {
  const found = Object.entries(PERIODS).find(([, v]) => v === p);
  if (found) return found[0] as QuotaPeriod;
  if (p === QuotaPeriodMessage.UNSPECIFIED) return undefined;
  throw invalidArgument(`rules.quota.period ${p} is not a known QuotaPeriod`);
}

/** A wire quota as the domain's; unset stays unset. Limits are checked by parseResourceSpec. */
function quotaFromProto(q: QuotaMessage | undefined): Quota | undefined {
  if (!q) return undefined;
  return {
    period: periodFromProto(q.period),
    maxReservations: q.maxReservations,
    maxTime: optionalDuration("rules.quota.max_time", q.maxTime),
    perPool: q.perPool,
  };
}

/** A stored resource as its wire message. */
export function resourceToProto(r: Resource): ResourceMessage {
  return create(ResourceSchema, {
    id: r.id,
    pool: r.pool,
    timeZone: r.timeZone,
    bufferBefore: microsToDuration(r.bufferBefore),
    bufferAfter: microsToDuration(r.bufferAfter),
    rules: {
      minDuration: optionalToProto(r.rules.minDuration),
      maxDuration: optionalToProto(r.rules.maxDuration),
      minNotice: optionalToProto(r.rules.minNotice),
      maxAdvance: optionalToProto(r.rules.maxAdvance),
      quota: r.rules.quota && {
        period: r.rules.quota.period
          ? PERIODS[r.rules.quota.period]
          : QuotaPeriodMessage.UNSPECIFIED,
        maxReservations: r.rules.quota.maxReservations,
        maxTime: optionalToProto(r.rules.quota.maxTime),
        perPool: r.rules.quota.perPool,
      },
    },
    note: r.note,
    capacity: r.capacity,
    createdAt: microsToTimestamp(r.createdAt),
    updatedAt: microsToTimestamp(r.updatedAt),
  });
}

// A page token is the last id of the page and the pool it was listed for: ids are not secret
// (every authenticated caller may list them), so it needs no MAC, only a check of the pool.
const encodeToken = (pool: string, last: string) =>
  Buffer.from(JSON.stringify([pool, last])).toString("base64url");
function decodeToken(pool: string, token: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString());
    if (Array.isArray(parsed) && parsed[0] === pool && typeof parsed[1] === "string") {
      return parsed[1];
    }
  } catch {
    // falls through to the INVALID_ARGUMENT below
  }
  throw invalidArgument("page_token is invalid, or was issued for another pool");
}

/**
 * The resource catalog service. Put and Delete are for admins; Get and List for any
 * authenticated caller (a resource's settings name no one).
 */
export function createResourceService(db: Queryable): ServiceImpl<typeof ResourceService> {
  return {
    async putResource(req, ctx) {
      assertMayManageResources(callerOf(ctx));
      const r = req.resource;
      if (!r) throw invalidArgument("resource is required");
      const spec = parseResourceSpec({
        id: r.id,
        pool: r.pool,
        timeZone: r.timeZone,
        bufferBefore: durationToMicros("resource.buffer_before", r.bufferBefore),
        bufferAfter: durationToMicros("resource.buffer_after", r.bufferAfter),
        rules: {
          minDuration: optionalDuration("rules.min_duration", r.rules?.minDuration),
          maxDuration: optionalDuration("rules.max_duration", r.rules?.maxDuration),
          minNotice: optionalDuration("rules.min_notice", r.rules?.minNotice),
          maxAdvance: optionalDuration("rules.max_advance", r.rules?.maxAdvance),
          quota: quotaFromProto(r.rules?.quota),
        },
        note: r.note,
        capacity: r.capacity,
      });
      return resourceToProto(await resources.putResource(db, spec));
    },

    async getResource(req, ctx) {
      const id = parseName("id", req.id);
      const r = await resources.getResource(db, id, ctx.signal);
      if (!r) throw notFound(`resource ${JSON.stringify(id)} is not registered`);
      return resourceToProto(r);
    },

    async listResources(req, ctx) {
      const pool = parseOptionalName("pool", req.pool);
      if (req.pageSize < 0) throw invalidArgument("page_size must not be negative");
      const size = Math.min(req.pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
      const after = req.pageToken === "" ? "" : decodeToken(req.pool, req.pageToken);
      // One more than a page tells whether there is a next one.
      const rows = await resources.listResources(db, pool, after, size + 1, ctx.signal);
      const page = rows.slice(0, size);
      const last = page.at(-1);
      return {
        resources: page.map(resourceToProto),
        nextPageToken: rows.length > size && last ? encodeToken(req.pool, last.id) : "",
      };
    },

    async deleteResource(req, ctx) {
      assertMayManageResources(callerOf(ctx));
      const id = parseName("id", req.id);
      const outcome = await resources.deleteResource(db, id);
      if (outcome === "missing") throw notFound(`resource ${JSON.stringify(id)} is not registered`);
      if (outcome === "busy") {
        throw failedPrecondition(
          `resource ${JSON.stringify(id)} has live reservations that have not ended: cancel them first`,
        );
      }
      return {};
    },
  };
}
