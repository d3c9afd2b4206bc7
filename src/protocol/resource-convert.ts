import { create } from "@bufbuild/protobuf";
import type { Duration } from "@bufbuild/protobuf/wkt";
import type { Micros } from "../domain/reservation.js";
import { parseResourceSpec, type Resource, type ResourceSpec } from "../domain/resource.js";
import {
  type Resource as ResourceMessage,
  ResourceSchema,
} from "../gen/reservation/resource_pb.js";
import { durationToMicros, microsToDuration, microsToTimestamp } from "./convert.js";

const optionalDuration = (field: string, d: Duration | undefined) =>
  d === undefined ? undefined : durationToMicros(field, d);
const optionalToProto = (us: Micros | undefined) =>
  us === undefined ? undefined : microsToDuration(us);

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
    },
    note: r.note,
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
    },
    note: r.note,
  });
}
