import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { callerOf } from "../../auth/caller.js";
import { actsOnAnyone, assertMayActOn } from "../../auth/policy.js";
import type { Db } from "../../db/engine/db.js";
import { queryReservations } from "../../db/store/query-reservations.js";
import * as reservations from "../../db/store/reservations.js";
import { createReserveBatcher } from "../../db/store/reserve-batcher.js";
import { conflictError } from "../../domain/conflict.js";
import {
  failedPrecondition,
  invalidArgument,
  notFound,
  quote,
  resourceExhausted,
} from "../../domain/errors.js";
import type { Reservation } from "../../domain/reservation.js";
import { formatInstant } from "../../domain/time.js";
import {
  parseCancelReason,
  parseId,
  parseNote,
  parseQuantity,
  parseWindow,
} from "../../domain/validate.js";
import type { ReservationService } from "../../gen/reservation/reservation_pb.js";
import { reservationToProto, timestampToMicros } from "../../protocol/convert.js";
import type { ChangeFeed } from "../feed/change-feed.js";
import { DEFAULT_LIMITS, type Limits } from "../limits.js";
import { sendHeaders } from "../transport/send-headers.js";
import { assertMayConfirm, underApproval } from "./approval.js";
import { createAvailableHandler } from "./available-handler.js";
import { deadlineOf } from "./deadline.js";
import { callerFilter, createFilterHandler } from "./filter-handler.js";
import { createLifecycleHandlers } from "./lifecycle-handlers.js";
import { CURSOR_HEADER, createListenHandler } from "./listen-handler.js";
import {
  createGroupHandlers,
  parseReserveRequest,
  poolReserved,
} from "./reserve-group-handlers.js";
import { createSecrets } from "./secrets.js";

/** What the handlers need. */
export interface ServiceDeps {
  readonly db: Db;
  readonly feed: ChangeFeed;
  /** Per-call and per-caller bounds (the defaults when absent). */
  readonly limits?:
    | Partial<
        Pick<
          Limits,
          "maxQueryRows" | "maxListensPerCaller" | "maxListensPerPeer" | "maxQueuedReserves"
        >
      >
    | undefined;
  /** How often a listener that asked for bookmarks gets one, at most (default 10 s). */
  readonly bookmarkMs?: number | undefined;
}

function found(id: string, r: Reservation | undefined): Reservation {
  if (!r) throw notFound(`reservation ${id} not found`);
  return r;
}

/** The FAILED_PRECONDITION for acting on a reservation that is not (or no longer) live. */
function notLive(r: Reservation, action: string) {
  if (r.status === "waiting") {
    return failedPrecondition(
      `reservation ${r.id} is waiting and cannot be ${action}: cancel it and wait again`,
    );
  }
  const expired = r.expiresAt !== undefined && r.expiresAt <= r.updatedAt;
  return failedPrecondition(
    expired
      ? `reservation ${r.id} cannot be ${action}: its hold expired at ${formatInstant(r.expiresAt ?? 0n)}`
      : `reservation ${r.id} is ${r.status} and cannot be ${action}`,
  );
}

/**
 * The reservation service: one set of handlers that every transport (native gRPC, Connect,
 * gRPC-Web) serves. Handlers throw RsvpError for anything the caller did; the transports map
 * errors once, at their boundary.
 */
export function createReservationService(
  deps: ServiceDeps,
): ServiceImpl<typeof ReservationService> {
  const { db } = deps;
  const limits = { ...DEFAULT_LIMITS, ...deps.limits };
  const batcher = createReserveBatcher(db, { maxQueued: limits.maxQueuedReserves });
  const groups = createGroupHandlers(db);
  const secrets = createSecrets(db);
  // A reservation's owner never changes, so checking it before acting cannot go stale.
  const mayActOn = async (ctx: HandlerContext, id: string) => {
    const caller = callerOf(ctx);
    if (actsOnAnyone(caller)) return;
    assertMayActOn(caller, id, found(id, await reservations.get(db, id)).userId);
  };
  const lifecycle = createLifecycleHandlers(db, mayActOn);
  return {
    async reserve(req, ctx) {
      const caller = callerOf(ctx);
      const [input] = await underApproval(db, caller, [parseReserveRequest(req, caller)]);
      if (!input) throw new Error("underApproval dropped the request");
      if (req.wait) {
        const { pool, ...waiting } = input;
        return lifecycle.reserveWaiting(waiting, pool, ctx);
      }
      // The call's signal: a caller that gave up before its request left is never sent.
      const outcome = await batcher.reserve(input, ctx.signal, deadlineOf(ctx));
      if (input.pool !== undefined) {
        return {
          reservation: reservationToProto(poolReserved({ ...input, pool: input.pool }, outcome)),
        };
      }
      switch (outcome.kind) {
        case "conflict":
          throw conflictError(
            input.resourceId,
            input,
            outcome.reservation,
            outcome.free,
            input.quantity,
          );
        case "rule":
          throw failedPrecondition(outcome.message);
        case "invalid":
          throw invalidArgument(outcome.message);
        case "mismatch":
          throw invalidArgument(
            `request_id ${quote(input.requestId ?? "")} was already used with a different request`,
          );
        case "full":
        case "empty":
          throw new Error(`reserve of resource ${input.resourceId} answered as a pool's`);
        default:
          return { reservation: reservationToProto(outcome.reservation) };
      }
    },

    async confirm(req, ctx) {
      const id = parseId(req.id);
      await assertMayConfirm(db, callerOf(ctx), id);
      const r = found(id, await reservations.confirm(db, id));
      if (r.status !== "confirmed") throw notLive(r, "confirmed");
      return { reservation: reservationToProto(r) };
    },

    async update(req, ctx) {
      const id = parseId(req.id);
      const start = timestampToMicros("start", req.start);
      const end = timestampToMicros("end", req.end);
      const window = start === undefined && end === undefined ? undefined : parseWindow(start, end);
      // 0 = unchanged; more units is a reschedule in units.
      const quantity = req.quantity === 0 ? undefined : parseQuantity("quantity", req.quantity);
      // Without a new window or quantity, the note is always applied ("" clears it), as a
      // client that does not set field presence expects.
      const note =
        req.note !== undefined || (!window && quantity === undefined)
          ? parseNote(req.note ?? "")
          : undefined;
      await mayActOn(ctx, id);
      const outcome = await reservations.update(db, id, { note, window, quantity });
      if (!outcome) throw notFound(`reservation ${id} not found`);
      if (outcome.kind === "cancelled") throw notLive(outcome.reservation, "updated");
      if (outcome.kind === "waiting") throw notLive(outcome.reservation, "rescheduled");
      if (outcome.kind === "rule") throw failedPrecondition(outcome.message ?? "a booking rule");
      if (outcome.kind === "invalid") throw invalidArgument(outcome.message ?? "quantity");
      if (outcome.kind === "conflict") {
        // Only a move or more units can clash, and only with a reservation of the same resource.
        if (!window && quantity === undefined) {
          throw new Error(`update of ${id} clashed without a new window or quantity`);
        }
        const r = outcome.reservation;
        // More units in place: the window asked for is the reservation's own.
        const requested = window ?? found(id, await reservations.get(db, id));
        throw conflictError(r.resourceId, requested, r, outcome.free, quantity);
      }
      return { reservation: reservationToProto(outcome.reservation) };
    },

    async cancel(req, ctx) {
      const id = parseId(req.id);
      const reason = parseCancelReason(req.reason);
      await mayActOn(ctx, id);
      if (!req.following) {
        const r = await reservations.cancel(db, id, reason);
        return { reservation: reservationToProto(found(id, r)) };
      }
      // A user's cascade stays within its own reservations of the group.
      const caller = callerOf(ctx);
      const onlyOf = actsOnAnyone(caller) ? undefined : caller?.sub;
      const r = await reservations.cancelFollowing(db, id, onlyOf, reason);
      return { reservation: reservationToProto(found(id, r)) };
    },

    async get(req, ctx) {
      const id = parseId(req.id);
      const r = found(id, await reservations.get(db, id, ctx.signal));
      assertMayActOn(callerOf(ctx), id, r.userId);
      return { reservation: reservationToProto(r) };
    },

    async *query(req, ctx) {
      const filter = callerFilter(req, ctx);
      // A position taken before any row is read: listen from it misses nothing (list-then-watch).
      const cursors = await secrets.cursors();
      ctx.responseHeader.set(CURSOR_HEADER, cursors.encode(await deps.feed.position()));
      sendHeaders(ctx);
      let rows = 0;
      for await (const page of queryReservations(db, filter, undefined, ctx.signal)) {
        for (const r of page) {
          if (++rows > limits.maxQueryRows) {
            throw resourceExhausted(
              `query matches more than ${limits.maxQueryRows} reservations: narrow it, or page through them with filter`,
            );
          }
          yield reservationToProto(r);
        }
        if (ctx.signal.aborted) return;
      }
    },

    checkIn: lifecycle.checkIn,
    reserveAll: groups.reserveAll,
    reserveSeries: groups.reserveSeries,
    listen: createListenHandler({
      feed: deps.feed,
      cursors: secrets.cursors,
      maxPerCaller: limits.maxListensPerCaller,
      maxPerPeer: limits.maxListensPerPeer,
      bookmarkMs: deps.bookmarkMs ?? 10_000,
    }),
    ...createFilterHandler(db, deps.feed, secrets),
    ...createAvailableHandler(db),
  };
}
