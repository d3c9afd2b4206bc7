import { createHash, randomUUID } from "node:crypto";
import { deadlineExceeded } from "../../domain/errors.js";
import type { NewReservation, Reservation } from "../../domain/reservation.js";
import type { Queryable } from "../engine/db.js";
import {
  type ReservationRow,
  requestColumns,
  reservationColumns,
  toReservation,
} from "./reservation-row.js";

/** One item of a group: a reservation of a resource, or (resourceId "") of any one of a pool. */
export interface GroupItem extends Omit<NewReservation, "requestId"> {
  /** Set instead of a resource id: any free resource of this pool. */
  readonly pool?: string | undefined;
}

/**
 * A clash of one item: what stands in its way (on the pool's first candidate, for a pool) and
 * the units free at the tightest instant. A series item skipped at its quota names a
 * reservation that counts against the quota (none when its own window alone is too long).
 */
export interface ItemClash {
  readonly item: number;
  readonly existing: Reservation | undefined;
  readonly pool?: string | undefined;
  readonly free: number;
}

/** What a group reserve did. Nothing was written unless `kind` is "created". */
export type GroupOutcome =
  /** Every item (or, skipping conflicts, every free one) reserved; `skipped` the others. */
  | {
      readonly kind: "created";
      readonly reservations: Reservation[];
      readonly skipped: ItemClash[];
    }
  /** A retry with the same idempotency key and body: what the first call made. */
  | { readonly kind: "replayed"; readonly reservations: Reservation[] }
  /** The idempotency key was used with another body. */
  | { readonly kind: "mismatch" }
  /** An item breaks a booking rule or quota: `message` names it. */
  | { readonly kind: "rule"; readonly item: number; readonly message: string }
  /** An item asks for more units than any resource it may land on has. */
  | { readonly kind: "invalid"; readonly item: number; readonly message: string }
  /** An item names a pool that has no resources. */
  | { readonly kind: "empty"; readonly item: number; readonly pool: string }
  /** Items clashed (all or nothing): one entry per clashing item. */
  | { readonly kind: "conflict"; readonly clashes: ItemClash[] };

/** Options of a group reserve. */
export interface GroupOptions {
  /** Shared by the reservations made; undefined for a single pool reserve. */
  readonly groupId?: string | undefined;
  /** Idempotency key of the whole call, scoped to `userId`. */
  readonly requestId?: string | undefined;
  readonly userId: string;
  /** Reserve the free items and report the others, instead of all or nothing. */
  readonly skipConflicts?: boolean | undefined;
  /** With skipConflicts: the most items that may be skipped (0 = any); part of the call's key. */
  readonly maxSkipped?: number | undefined;
  /** The caller's: once it aborts, the statement is cancelled (or never sent). */
  readonly signal?: AbortSignal | undefined;
  /** When the caller stops waiting (epoch ms): past it, the statement is never sent. */
  readonly deadline?: number | undefined;
}

const SQL = `SELECT f.out_item, f.out_kind, f.out_message, f.out_free, ${reservationColumns("r")}
  FROM rsvp.reserve_group($1::text::jsonb, $2::uuid, $3, $4, $5, $6) AS f,
       LATERAL (SELECT (f.out_row).*) AS r`;

type Row = ReservationRow & {
  out_item: number;
  out_kind: string;
  out_message: string | null;
  out_free: number | null;
};

/**
 * What makes two group calls with one idempotency key "the same call". A pool reserve's key
 * is hashed as a group of its one item, whichever way it is sent (rsvp.reserve_group or a
 * reserve batch).
 */
export function groupRequestHash(
  items: readonly GroupItem[],
  skipConflicts: boolean,
  maxSkipped = 0,
): string {
  return createHash("sha256")
    .update(
      JSON.stringify([items, skipConflicts, ...(maxSkipped ? [maxSkipped] : [])], (_, v) =>
        typeof v === "bigint" ? v.toString() : v,
      ),
    )
    .digest("base64url");
}

/**
 * Reserves items that must succeed together (a group, a series, or a pool reserve) in one
 * statement: every resource they may land on is locked first in one fixed order, then each
 * item is inserted and judged by the exclusion constraint; any clash rolls all of them back.
 */
export async function reserveGroup(
  db: Queryable,
  items: readonly GroupItem[],
  opts: GroupOptions,
): Promise<GroupOutcome> {
  const payload = items.map((r) => ({
    id: randomUUID(),
    resource_id: r.pool === undefined ? r.resourceId : null,
    pool: r.pool ?? null,
    ...requestColumns(r),
  }));
  // Its timer may not have fired yet on a busy event loop: never write for a caller gone.
  if (opts.deadline !== undefined && Date.now() >= opts.deadline) throw deadlineExceeded();
  const rows = await db.query<Row>(
    SQL,
    [
      JSON.stringify(payload),
      opts.groupId ?? null,
      opts.userId,
      opts.requestId ?? null,
      opts.requestId === undefined
        ? null
        : groupRequestHash(items, opts.skipConflicts ?? false, opts.maxSkipped),
      opts.skipConflicts ?? false,
    ],
    { signal: opts.signal },
  );
  const first = rows[0];
  if (!first) throw new Error("reserve_group returned no outcome");
  const clashesOf = (kind: string) =>
    rows
      .filter((r) => r.out_kind === kind)
      .map((r) => ({
        item: r.out_item,
        existing: r.id === null ? undefined : toReservation(r),
        pool: r.out_message ?? undefined,
        free: r.out_free ?? 0,
      }));
  switch (first.out_kind) {
    case "replayed":
      return { kind: "replayed", reservations: rows.map(toReservation) };
    case "mismatch":
      return { kind: "mismatch" };
    case "rule":
    case "invalid":
      return { kind: first.out_kind, item: first.out_item, message: first.out_message ?? "" };
    case "empty":
      return { kind: "empty", item: first.out_item, pool: first.out_message ?? "" };
    case "conflict":
      return { kind: "conflict", clashes: clashesOf("conflict") };
    default:
      return {
        kind: "created",
        reservations: rows.filter((r) => r.out_kind === "created").map(toReservation),
        skipped: clashesOf("skipped"),
      };
  }
}
