import { failedPrecondition } from "../../domain/errors.js";
import type { QuotaPeriod, Resource, ResourceSpec } from "../../domain/resource.js";
import type { Queryable } from "../engine/db.js";
import { sqlState } from "../engine/db-errors.js";

type Int = bigint | number | string;
type Nullable<T> = T | null;

interface ResourceRow {
  [column: string]: unknown;
  id: string;
  pool: string;
  time_zone: string;
  buffer_before_us: Int;
  buffer_after_us: Int;
  min_duration_us: Nullable<Int>;
  max_duration_us: Nullable<Int>;
  min_notice_us: Nullable<Int>;
  max_advance_us: Nullable<Int>;
  note: string;
  capacity: number;
  quota_period: QuotaPeriod | null;
  quota_max_reservations: number;
  quota_max_time_us: Nullable<Int>;
  quota_per_pool: boolean;
  release_after_us: Nullable<Int>;
  check_in_opens_us: Nullable<Int>;
  approval: boolean;
  created_us: Int;
  updated_us: Int;
}

// Intervals made from microseconds only (no months or days), so their epoch is exact.
const us = (column: string) => `rsvp.to_micros('epoch'::timestamptz + ${column})`;

const COLUMNS = (t: string) =>
  [
    `${t}.id`,
    `${t}.pool`,
    `${t}.time_zone`,
    `${us(`${t}.buffer_before`)} AS buffer_before_us`,
    `${us(`${t}.buffer_after`)} AS buffer_after_us`,
    `${us(`${t}.min_duration`)} AS min_duration_us`,
    `${us(`${t}.max_duration`)} AS max_duration_us`,
    `${us(`${t}.min_notice`)} AS min_notice_us`,
    `${us(`${t}.max_advance`)} AS max_advance_us`,
    `${t}.note`,
    `${t}.capacity`,
    `${t}.quota_period`,
    `${t}.quota_max_reservations`,
    `${us(`${t}.quota_max_time`)} AS quota_max_time_us`,
    `${t}.quota_per_pool`,
    `${us(`${t}.release_after`)} AS release_after_us`,
    `${us(`${t}.check_in_opens`)} AS check_in_opens_us`,
    `${t}.approval`,
    `rsvp.to_micros(${t}.created_at) AS created_us`,
    `rsvp.to_micros(${t}.updated_at) AS updated_us`,
  ].join(", ");

const opt = (v: Nullable<Int>) => (v === null ? undefined : BigInt(v));

function toResource(row: ResourceRow): Resource {
  return {
    id: row.id,
    pool: row.pool,
    timeZone: row.time_zone,
    bufferBefore: BigInt(row.buffer_before_us),
    bufferAfter: BigInt(row.buffer_after_us),
    rules: {
      minDuration: opt(row.min_duration_us),
      maxDuration: opt(row.max_duration_us),
      minNotice: opt(row.min_notice_us),
      maxAdvance: opt(row.max_advance_us),
      quota:
        row.quota_period === null && row.quota_max_reservations === 0 && !row.quota_per_pool
          ? undefined
          : {
              period: row.quota_period ?? undefined,
              maxReservations: row.quota_max_reservations,
              maxTime: opt(row.quota_max_time_us),
              perPool: row.quota_per_pool,
            },
      releaseAfter: opt(row.release_after_us),
      checkInOpens: opt(row.check_in_opens_us),
    },
    note: row.note,
    capacity: row.capacity,
    approval: row.approval,
    createdAt: BigInt(row.created_us),
    updatedAt: BigInt(row.updated_us),
  };
}

const interval = (n: number) => `($${n}::bigint * interval '1 microsecond')`;
const PUT_SQL = `SELECT ${COLUMNS("r")} FROM rsvp.put_resource($1, $2, $3, ${interval(4)},
  ${interval(5)}, ${interval(6)}, ${interval(7)}, ${interval(8)}, ${interval(9)}, $10, $11::integer,
  $12::text, $13::integer, ${interval(14)}, $15::boolean, ${interval(16)}, ${interval(17)},
  $18::boolean) AS r`;
const GET_SQL = `SELECT ${COLUMNS("r")} FROM rsvp.resources AS r WHERE r.id = $1`;
const LIST_SQL = `SELECT ${COLUMNS("r")} FROM rsvp.resources AS r
  WHERE ($1::text IS NULL OR r.pool = $1) AND r.id > $2 ORDER BY r.id LIMIT $3`;

const micros = (v: bigint | undefined) => (v === undefined ? null : v.toString());

/**
 * Creates or replaces a resource (under its lock: no reserve of it is mid-way). Lowering the
 * capacity below what live reservations use from now on is FAILED_PRECONDITION, naming where.
 */
export async function putResource(db: Queryable, spec: ResourceSpec): Promise<Resource> {
  const { rules } = spec;
  const quota = rules.quota;
  let rows: ResourceRow[];
  try {
    rows = await db.query<ResourceRow>(PUT_SQL, [
      spec.id,
      spec.pool,
      spec.timeZone,
      spec.bufferBefore.toString(),
      spec.bufferAfter.toString(),
      micros(rules.minDuration),
      micros(rules.maxDuration),
      micros(rules.minNotice),
      micros(rules.maxAdvance),
      spec.note,
      spec.capacity,
      quota?.period ?? null,
      quota?.maxReservations ?? 0,
      micros(quota?.maxTime),
      quota?.perPool ?? false,
      micros(rules.releaseAfter),
      micros(rules.checkInOpens),
      spec.approval ?? false,
    ]);
  } catch (err) {
    // rsvp.put_resource's refusal to drop the capacity below what is in use.
    if (sqlState(err) === "RV014" && err instanceof Error) throw failedPrecondition(err.message);
    throw err;
  }
  const [row] = rows;
  if (!row) throw new Error(`put_resource returned no row for ${spec.id}`);
  return toResource(row);
}

/** One resource, or undefined if it was never registered (or was deleted). */
export async function getResource(
  db: Queryable,
  id: string,
  signal?: AbortSignal,
): Promise<Resource | undefined> {
  const [row] = await db.query<ResourceRow>(GET_SQL, [id], { signal });
  return row ? toResource(row) : undefined;
}

/** Up to `limit` resources after id `after` ("" = from the start), in id order. */
export async function listResources(
  db: Queryable,
  pool: string | undefined,
  after: string,
  limit: number,
  signal?: AbortSignal,
): Promise<Resource[]> {
  const rows = await db.query<ResourceRow>(LIST_SQL, [pool ?? null, after, limit], { signal });
  return rows.map(toResource);
}

/** Deletes a resource: "busy" while a live reservation of it has not ended. */
export async function deleteResource(
  db: Queryable,
  id: string,
): Promise<"deleted" | "missing" | "busy"> {
  const [row] = await db.query<{ outcome: "deleted" | "missing" | "busy" }>(
    "SELECT rsvp.delete_resource($1) AS outcome",
    [id],
  );
  if (!row) throw new Error(`delete_resource returned nothing for ${id}`);
  return row.outcome;
}
