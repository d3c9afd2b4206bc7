import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { callerKey, callerOf } from "../auth/caller.js";
import { scopedUserFilter } from "../auth/policy.js";
import { type Change, type ChangeOp, decodeCursor, encodeCursor } from "../domain/change.js";
import { parseOptionalName } from "../domain/validate.js";
import {
  type ListenRequest,
  type ListenResponse,
  ListenResponseSchema,
  ReservationUpdateType,
} from "../gen/reservation/reservation_pb.js";
import type { ChangeFeed } from "./change-feed.js";
import { microsToTimestamp, reservationToProto } from "./convert.js";
import { createStreamQuota } from "./limits.js";

const OPS: Record<ChangeOp, ReservationUpdateType> = {
  create: ReservationUpdateType.CREATE,
  update: ReservationUpdateType.UPDATE,
  delete: ReservationUpdateType.DELETE,
};

// The feed hands every listener the same Change object, so each change becomes one message
// (and, through the transport's cache, one encoding) however many listeners hear it.
const messages = new WeakMap<Change, ListenResponse>();

function toResponse(change: Change): ListenResponse {
  let message = messages.get(change);
  if (!message) {
    message = create(ListenResponseSchema, {
      op: OPS[change.op],
      reservation: reservationToProto(change.reservation),
      cursor: encodeCursor(change.position),
      committedAt: microsToTimestamp(change.committedAt),
    });
    messages.set(change, message);
  }
  return message;
}

/**
 * The `listen` rpc: the process's change feed, filtered, as ListenResponses with cursors. A
 * user hears only its own reservations; each caller holds at most `maxPerCaller` streams.
 */
export function createListenHandler(feed: ChangeFeed, maxPerCaller: number) {
  const quota = createStreamQuota(maxPerCaller, "listen");
  return async function* listen(
    req: ListenRequest,
    ctx: HandlerContext,
  ): AsyncGenerator<ListenResponse> {
    const filter = {
      resourceId: parseOptionalName("resource_id", req.resourceId),
      userId: scopedUserFilter(callerOf(ctx), parseOptionalName("user_id", req.userId)),
    };
    const after = req.cursor === "" ? undefined : decodeCursor(req.cursor);
    const release = quota.acquire(callerKey(ctx));
    try {
      for await (const change of feed.subscribe(filter, after, ctx.signal)) {
        yield toResponse(change);
      }
    } finally {
      release();
    }
  };
}
