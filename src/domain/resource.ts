import { invalidArgument, quote } from "./errors.js";
import type { Micros } from "./reservation.js";
import { parseDuration, parseName, parseNote, parseOptionalDuration } from "./validate.js";

/** The periods a quota counts in, in the resource's time zone (weeks are ISO: Monday first). */
export const QUOTA_PERIODS = ["day", "week", "month"] as const;
export type QuotaPeriod = (typeof QUOTA_PERIODS)[number];

/** How much one user may book per period. */
export interface Quota {
  /** Undefined only when there are no limits either. */
  readonly period: QuotaPeriod | undefined;
  /** Most live reservations whose start falls in one period; 0 = no limit. */
  readonly maxReservations: number;
  /** Most booked time (each reservation's own window) per period; undefined = no limit. */
  readonly maxTime?: Micros | undefined;
  /** Count the user's reservations on every resource of the pool. */
  readonly perPool: boolean;
}

/** Booking rules of a resource; each undefined = no limit. */
export interface BookingRules {
  readonly minDuration?: Micros | undefined;
  readonly maxDuration?: Micros | undefined;
  /** start >= now + minNotice */
  readonly minNotice?: Micros | undefined;
  /** start <= now + maxAdvance */
  readonly maxAdvance?: Micros | undefined;
  readonly quota?: Quota | undefined;
  /** No-show release: a reservation not checked in by start + releaseAfter is cancelled. */
  readonly releaseAfter?: Micros | undefined;
  /** How long before its start a reservation can be checked in; undefined = 15 minutes. */
  readonly checkInOpens?: Micros | undefined;
}

/** A registered resource: what it belongs to, what it keeps free, what it accepts. */
export interface ResourceSpec {
  readonly id: string;
  /** "" = in no pool. */
  readonly pool: string;
  /** IANA time zone name. */
  readonly timeZone: string;
  readonly bufferBefore: Micros;
  readonly bufferAfter: Micros;
  readonly rules: BookingRules;
  readonly note: string;
  /** Units usable at once; 0 or 1 = exclusive. */
  readonly capacity: number;
  /** Reservations by non-admins are stored pending, and only an admin confirms them. */
  readonly approval?: boolean | undefined;
}

/** A stored resource. */
export interface Resource extends ResourceSpec {
  readonly createdAt: Micros;
  readonly updatedAt: Micros;
}

/** An IANA time zone name that this runtime knows; empty means UTC. */
export function parseTimeZone(field: string, zone: string): string {
  if (zone === "") return "UTC";
  try {
    // Throws a RangeError for a name that is not a time zone.
    return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    throw invalidArgument(`${field} ${quote(zone)} is not an IANA time zone`);
  }
}

/**
 * Everything `PutResource` accepts, checked in one place. Durations arrive non-negative; each
 * is at most 10 years, so that a window widened by its buffers or a rule's bound stays a time
 * the database can represent.
 */
export function parseResourceSpec(input: {
  id: string;
  pool: string;
  timeZone: string;
  bufferBefore: Micros;
  bufferAfter: Micros;
  rules: BookingRules;
  note: string;
  capacity?: number | undefined;
  approval?: boolean | undefined;
}): ResourceSpec {
  const rules: BookingRules = {
    minDuration: parseOptionalDuration("rules.min_duration", input.rules.minDuration),
    maxDuration: parseOptionalDuration("rules.max_duration", input.rules.maxDuration),
    minNotice: parseOptionalDuration("rules.min_notice", input.rules.minNotice),
    maxAdvance: parseOptionalDuration("rules.max_advance", input.rules.maxAdvance),
    quota: input.rules.quota,
    releaseAfter: parseOptionalDuration("rules.release_after", input.rules.releaseAfter),
    checkInOpens: parseOptionalDuration("rules.check_in_opens", input.rules.checkInOpens),
  };
  const { minDuration, maxDuration, quota } = rules;
  if (minDuration !== undefined && maxDuration !== undefined && minDuration > maxDuration) {
    throw invalidArgument("rules.min_duration must not exceed rules.max_duration");
  }
  const capacity = input.capacity ?? 0;
  if (!Number.isInteger(capacity) || capacity < 0) {
    throw invalidArgument("resource.capacity must not be negative");
  }
  if (quota) {
    if (!Number.isInteger(quota.maxReservations) || quota.maxReservations < 0) {
      throw invalidArgument("rules.quota.max_reservations must not be negative");
    }
    const limited = quota.maxReservations > 0 || quota.maxTime !== undefined;
    if (limited && quota.period === undefined) {
      throw invalidArgument("rules.quota.period is required with a limit");
    }
  }
  return {
    id: parseName("resource.id", input.id),
    pool: input.pool === "" ? "" : parseName("resource.pool", input.pool),
    timeZone: parseTimeZone("resource.time_zone", input.timeZone),
    bufferBefore: parseDuration("resource.buffer_before", input.bufferBefore),
    bufferAfter: parseDuration("resource.buffer_after", input.bufferAfter),
    rules,
    note: parseNote(input.note),
    capacity,
    approval: input.approval ?? false,
  };
}
