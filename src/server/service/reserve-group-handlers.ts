import { randomUUID } from "node:crypto";
import type { HandlerContext } from "@connectrpc/connect";
import { callerOf, type Principal } from "../../auth/caller.js";
import { assertMayCreate, ownerOfNew } from "../../auth/policy.js";
import type { Db, Queryable } from "../../db/engine/db.js";
import {
  type GroupItem,
  type GroupOutcome,
  type ItemClash,
  reserveGroup,
} from "../../db/store/groups.js";
import type { ReserveOutcome } from "../../db/store/reservations.js";
import { getResource } from "../../db/store/resources.js";
import {
  Code,
  type ConflictInfo,
  failedPrecondition,
  invalidArgument,
  notFound,
  quote,
  RsvpError,
} from "../../domain/errors.js";
import type { NewReservation, Reservation } from "../../domain/reservation.js";
import { parseTimeZone } from "../../domain/resource.js";
import { expandSeries } from "../../domain/series.js";
import { formatWindow } from "../../domain/time.js";
import {
  parseName,
  parseNewReservation,
  parseQuantity,
  parseRequestId,
  parseTime,
} from "../../domain/validate.js";
import type {
  ReserveAllRequest,
  ReserveRequest,
  ReserveSeriesRequest,
} from "../../gen/reservation/reservation_pb.js";
import {
  conflictToProto,
  reservationToProto,
  statusFromProto,
  timestampToMicros,
} from "../../protocol/convert.js";
import { underApproval } from "./approval.js";
import { deadlineOf } from "./deadline.js";

/** Most items in one reserveAll. */
export const MAX_GROUP_ITEMS = 100;

const nowMicros = () => BigInt(Date.now()) * 1000n;

/** A reserve request as a validated item: a resource, or (with `pool`) any one of a pool. */
export function parseReserveRequest(
  req: ReserveRequest,
  caller: Principal | undefined,
): NewReservation & { readonly pool?: string | undefined } {
  const r = req.reservation;
  if (!r) throw invalidArgument("reservation is required");
  if (req.pool !== "" && r.resourceId !== "") {
    throw invalidArgument("set either reservation.resource_id or pool, not both");
  }
  const pool = req.pool === "" ? undefined : parseName("pool", req.pool);
  const input = parseNewReservation(
    {
      userId: ownerOfNew(caller, r.userId),
      // A pool item's resource is chosen by the server; the pool's name stands in to validate.
      resourceId: pool ?? r.resourceId,
      status: statusFromProto(r.status),
      start: timestampToMicros("start", r.start),
      end: timestampToMicros("end", r.end),
      note: r.note,
      expiresAt: timestampToMicros("expires_at", r.expiresAt),
      holdSeconds: req.holdSeconds,
      requestId: req.requestId,
    },
    nowMicros(),
  );
  assertMayCreate(caller, input.status);
  const quantity = parseQuantity("reservation.quantity", r.quantity);
  return pool === undefined ? { ...input, quantity } : { ...input, quantity, resourceId: "", pool };
}

function clashInfo(items: readonly GroupItem[], c: ItemClash, group: boolean): ConflictInfo {
  const item = items[c.item];
  if (!item) throw new Error(`clash reported for unknown item ${c.item}`);
  const requested = { start: item.start, end: item.end };
  // An item at its quota with no other reservation counting: its own window is in the way.
  const existing = c.existing ?? { ...requested, resourceId: item.resourceId };
  return {
    resourceId: existing.resourceId,
    requested,
    existing: { start: existing.start, end: existing.end },
    item: group ? c.item : undefined,
    free: c.free,
  };
}

/** How one clash reads: the pool that had no free resource, or the resource taken. */
function clashText(items: readonly GroupItem[], c: ItemClash): string {
  const item = items[c.item];
  const requested = item ? formatWindow(item) : "";
  if (c.pool) return `no resource of pool ${quote(c.pool)} is free for ${requested}`;
  if (!c.existing) return `nothing is free for ${requested}`;
  const units = item?.quantity ?? 1;
  if (units > 1 || c.free > 0) {
    return (
      `resource ${quote(c.existing.resourceId)} has ${c.free} of the ${units} units ` +
      `asked for free throughout ${requested}`
    );
  }
  return (
    `resource ${quote(c.existing.resourceId)} is already reserved for ` +
    `${formatWindow(c.existing)} (requested ${requested})`
  );
}

/**
 * The error of a group outcome that wrote nothing, or the reservations made. `group` says
 * whether item positions belong in the messages and details (not for a single pool reserve).
 */
export function groupResult(
  items: readonly GroupItem[],
  outcome: GroupOutcome,
  requestId: string | undefined,
  group: boolean,
): { reservations: Reservation[]; skipped: ItemClash[] } {
  const at = (item: number) => (group ? `item ${item}: ` : "");
  switch (outcome.kind) {
    case "created":
      return outcome;
    case "replayed":
      return { reservations: outcome.reservations, skipped: [] };
    case "mismatch":
      throw invalidArgument(
        `request_id ${quote(requestId ?? "")} was already used with a different request`,
      );
    case "rule":
      throw failedPrecondition(`${at(outcome.item)}${outcome.message}`);
    case "invalid":
      throw invalidArgument(`${at(outcome.item)}${outcome.message}`);
    case "empty":
      throw notFound(`${at(outcome.item)}pool ${quote(outcome.pool)} has no resources`);
    case "conflict":
      throw clashError(items, outcome.clashes, group);
  }
}

/**
 * The reservation a pool reserve made, or its error, as a group of its one item would report
 * it (a pool reserve travels in a reserve batch; its answers read as they always have).
 */
export function poolReserved(
  input: NewReservation & { readonly pool: string },
  outcome: ReserveOutcome,
): Reservation {
  const { requestId, ...item } = input;
  const asGroup = ((): GroupOutcome => {
    switch (outcome.kind) {
      case "created":
        return { kind: "created", reservations: [outcome.reservation], skipped: [] };
      case "replayed":
        return { kind: "replayed", reservations: [outcome.reservation] };
      case "mismatch":
        return { kind: "mismatch" };
      case "rule":
      case "invalid":
        return { kind: outcome.kind, item: 0, message: outcome.message };
      case "empty":
        return { kind: "empty", item: 0, pool: input.pool };
      case "full":
      case "conflict": {
        const clash = { item: 0, existing: outcome.reservation, pool: input.pool };
        return { kind: "conflict", clashes: [{ ...clash, free: outcome.free }] };
      }
    }
  })();
  const [made] = groupResult([item], asGroup, requestId, false).reservations;
  if (!made) throw new Error("a pool reserve made nothing without an error");
  return made;
}

/** ALREADY_EXISTS naming every clash, each in the details; `lead` opens the message. */
function clashError(items: readonly GroupItem[], clashes: ItemClash[], group: boolean, lead = "") {
  const at = (item: number) => (group ? `item ${item}: ` : "");
  return new RsvpError(
    Code.AlreadyExists,
    lead + clashes.map((c) => `${at(c.item)}${clashText(items, c)}`).join("; "),
    clashes.map((c) => clashInfo(items, c, group)),
  );
}

/** Rolls back a series that skipped more occurrences than it allows. */
class TooManySkipped extends Error {
  constructor(readonly skipped: ItemClash[]) {
    super("too many occurrences skipped");
  }
}

/** `max_skipped` of a series: 0 = no limit; only with skip_conflicts, never negative. */
function parseMaxSkipped(maxSkipped: number, skipConflicts: boolean): number {
  if (maxSkipped < 0) throw invalidArgument("max_skipped must not be negative");
  if (maxSkipped > 0 && !skipConflicts) {
    throw invalidArgument("max_skipped applies only with skip_conflicts");
  }
  return maxSkipped;
}

/** `reserveAll` and `reserveSeries`. */
export function createGroupHandlers(db: Db) {
  return {
    async reserveSeries(req: ReserveSeriesRequest, ctx: HandlerContext) {
      if (!req.first) throw invalidArgument("first is required");
      if (req.first.wait) throw invalidArgument("a series cannot wait: set first.wait false");
      if (req.first.requestId !== "") {
        throw invalidArgument("first.request_id must be empty: set the series' request_id");
      }
      const caller = callerOf(ctx);
      const [parsed] = await underApproval(db, caller, [parseReserveRequest(req.first, caller)]);
      if (!parsed) throw new Error("underApproval dropped the first occurrence");
      const { requestId: _none, ...first } = parsed;
      if (first.pool !== undefined) throw invalidArgument("a series cannot be booked on a pool");
      const maxSkipped = parseMaxSkipped(req.maxSkipped, req.skipConflicts);
      const zone =
        req.timeZone !== ""
          ? parseTimeZone("time_zone", req.timeZone)
          : ((await getResource(db, first.resourceId, ctx.signal))?.timeZone ?? "UTC");
      const items = expandSeries(first, req.rrule, zone).map((w) => ({
        ...first,
        start: parseTime("occurrence start", w.start),
        end: parseTime("occurrence end", w.end),
      }));
      const requestId = parseRequestId(req.requestId);
      const book = (q: Queryable) =>
        reserveGroup(q, items, {
          groupId: randomUUID(),
          userId: first.userId,
          requestId,
          skipConflicts: req.skipConflicts,
          maxSkipped,
          signal: ctx.signal,
          deadline: deadlineOf(ctx),
        });
      let outcome: GroupOutcome;
      if (maxSkipped === 0) outcome = await book(db);
      else {
        // Booked and counted in one transaction, rolled back past the threshold.
        try {
          outcome = await db.transaction(async (tx) => {
            const booked = await book(tx);
            if (booked.kind === "created" && booked.skipped.length > maxSkipped) {
              throw new TooManySkipped(booked.skipped);
            }
            return booked;
          });
        } catch (err) {
          if (!(err instanceof TooManySkipped)) throw err;
          throw clashError(
            items,
            err.skipped,
            true,
            `${err.skipped.length} occurrences clash, more than max_skipped ${maxSkipped}: nothing was booked; `,
          );
        }
      }
      const { reservations, skipped } = groupResult(items, outcome, requestId, true);
      return {
        reservations: reservations.map(reservationToProto),
        skipped: skipped.map((c) => conflictToProto(clashInfo(items, c, true))),
      };
    },

    async reserveAll(req: ReserveAllRequest, ctx: HandlerContext) {
      if (req.items.length === 0 || req.items.length > MAX_GROUP_ITEMS) {
        throw invalidArgument(`items must hold 1 to ${MAX_GROUP_ITEMS} reservations`);
      }
      const caller = callerOf(ctx);
      const parsed = req.items.map((it, i) => {
        if (it.requestId !== "") {
          throw invalidArgument(`items[${i}].request_id must be empty: set the group's request_id`);
        }
        if (it.wait) throw invalidArgument(`items[${i}].wait: a group cannot wait`);
        return parseReserveRequest(it, caller);
      });
      const items = await underApproval(db, caller, parsed);
      const requestId = parseRequestId(req.requestId);
      const outcome = await reserveGroup(db, items, {
        groupId: randomUUID(),
        // Keys are scoped to a user, as reserve's are to the reservation's owner.
        userId: items[0]?.userId ?? "",
        requestId,
        signal: ctx.signal,
        deadline: deadlineOf(ctx),
      });
      const { reservations } = groupResult(items, outcome, requestId, true);
      return { reservations: reservations.map(reservationToProto) };
    },
  };
}
