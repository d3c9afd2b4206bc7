import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { callerKey, callerOf, PEER_ADDRESS } from "../../auth/caller.js";
import { scopedUserFilter } from "../../auth/policy.js";
import type { Change, ChangeOp } from "../../domain/change.js";
import { parseOptionalName } from "../../domain/validate.js";
import {
  type ListenRequest,
  type ListenResponse,
  ListenResponseSchema,
  ReservationUpdateType,
} from "../../gen/reservation/reservation_pb.js";
import { microsToTimestamp, reservationToProto } from "../../protocol/convert.js";
import { sendsToMany } from "../../protocol/grpc-codec.js";
import type { ChangeFeed } from "../feed/change-feed.js";
import { createStreamQuota } from "../limits.js";
import { sendHeaders } from "../transport/send-headers.js";
import type { CursorCodec } from "./cursor-codec.js";

const OPS: Record<ChangeOp, ReservationUpdateType> = {
  create: ReservationUpdateType.CREATE,
  update: ReservationUpdateType.UPDATE,
  delete: ReservationUpdateType.DELETE,
};

/** The response header that carries a stream's starting position (listen) or a list's (query). */
export const CURSOR_HEADER = "rsvp-cursor";

/** What the listen handler needs. */
export interface ListenDeps {
  readonly feed: ChangeFeed;
  readonly cursors: () => Promise<CursorCodec>;
  readonly maxPerCaller: number;
  /** Streams one remote address may hold, whoever its callers are. */
  readonly maxPerPeer: number;
  /** How often a listener that asked for bookmarks gets a fresher cursor, at most. */
  readonly bookmarkMs: number;
}

/**
 * The `listen` rpc: the process's change feed, filtered, as ListenResponses with cursors. A
 * user hears only its own reservations; each caller holds at most `maxPerCaller` streams.
 * Headers leave only once the subscription is registered, carrying where it starts.
 */
export function createListenHandler(deps: ListenDeps) {
  const quota = createStreamQuota(deps.maxPerCaller, "listen");
  const peerQuota = createStreamQuota(deps.maxPerPeer, "listen", "address");
  // The feed hands every listener the same Change object, so each change becomes one message
  // (and, through the transport's cache, one encoding) however many listeners hear it.
  const messages = new WeakMap<Change, ListenResponse>();
  const toResponse = (change: Change, codec: CursorCodec) => {
    let message = messages.get(change);
    if (!message) {
      message = sendsToMany(
        create(ListenResponseSchema, {
          op: OPS[change.op],
          reservation: reservationToProto(change.reservation),
          previous: change.previous && reservationToProto(change.previous),
          cursor: codec.encode(change.position),
          committedAt: microsToTimestamp(change.committedAt),
        }),
      );
      messages.set(change, message);
    }
    return message;
  };

  return async function* listen(
    req: ListenRequest,
    ctx: HandlerContext,
  ): AsyncGenerator<ListenResponse> {
    const filter = {
      resourceId: parseOptionalName("resource_id", req.resourceId),
      userId: scopedUserFilter(callerOf(ctx), parseOptionalName("user_id", req.userId)),
    };
    const codec = await deps.cursors();
    const after = req.cursor === "" ? undefined : codec.decode(req.cursor);
    const release = quota.acquire(callerKey(ctx));
    let releasePeer: (() => void) | undefined;
    try {
      // One address may speak for many token subjects: it has a share of its own too.
      releasePeer = peerQuota.acquire(ctx.values.get(PEER_ADDRESS) ?? "unknown");
      const sub = await deps.feed.open(filter, after, {
        signal: ctx.signal,
        bookmarkMs: req.bookmarks ? deps.bookmarkMs : undefined,
      });
      ctx.responseHeader.set(CURSOR_HEADER, codec.encode(sub.start));
      sendHeaders(ctx);
      for await (const item of sub) {
        yield item.kind === "change"
          ? toResponse(item.change, codec)
          : create(ListenResponseSchema, {
              op: ReservationUpdateType.BOOKMARK,
              cursor: codec.encode(item.position),
            });
      }
    } finally {
      releasePeer?.();
      release();
    }
  };
}
