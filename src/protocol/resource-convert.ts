import { create } from "@bufbuild/protobuf";
import type { Duration } from "@bufbuild/protobuf/wkt";
import { invalidArgument } from "../domain/errors.js";
import type { Micros } from "../domain/reservation.js";
import {
  parseResourceSpec,
  type Quota,
  type QuotaPeriod,
  type Resource,
  type ResourceSpec,
} from "../domain/resource.js";
import {
  type Quota as QuotaMessage,
  QuotaPeriod as QuotaPeriodMessage,
  type Resource as ResourceMessage,
  ResourceSchema,
} from "../gen/reservation/resource_pb.js";
import { durationToMicros, microsToDuration, microsToTimestamp } from "./convert.js";

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
      releaseAfter: optionalToProto(r.rules.releaseAfter),
      checkInOpens: optionalToProto(r.rules.checkInOpens),
    },
    note: r.note,
    capacity: r.capacity,
    approval: r.approval ?? false,
    createdAt: microsToTimestamp(r.createdAt),
    updatedAt: microsToTimestamp(r.updatedAt),
  });
}

/** A resource message as a checked spec to store; INVALID_ARGUMENT names the bad field. */
export function resourceSpecFromProto(r: ResourceMessage): ResourceSpec {
  return parseResourceSpec({
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
      releaseAfter: optionalDuration("rules.release_after", r.rules?.releaseAfter),
      checkInOpens: optionalDuration("rules.check_in_opens", r.rules?.checkInOpens),
    },
    note: r.note,
    capacity: r.capacity,
    approval: r.approval,
  });
}
