import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { type ChangeOp, decodeCursor, encodeCursor } from "../domain/change.js";
import { parseOptionalName } from "../domain/validate.js";
import type { ListenResponseSchema } from "../gen/reservation/reservation_pb.js";
import {
  type ListenRequest,
  type ListenResponse,
  ReservationUpdateType,
} from "../gen/reservation/reservation_pb.js";
import type { ChangeFeed } from "./change-feed.js";
import { microsToTimestamp, reservationToProto } from "./convert.js";

const OPS: Record<ChangeOp, ReservationUpdateType> = {
  create: ReservationUpdateType.CREATE,
  update: ReservationUpdateType.UPDATE,
  delete: ReservationUpdateType.DELETE,
};

/** The `listen` rpc: the process's change feed, filtered, as ListenResponses with cursors. */
export function createListenHandler(feed: ChangeFeed) {
  return async function* listen(
    req: ListenRequest,
    ctx: HandlerContext,
  ): AsyncGenerator<MessageInitShape<typeof ListenResponseSchema> & Partial<ListenResponse>> {
    const filter = {
      resourceId: parseOptionalName("resource_id", req.resourceId),
      userId: parseOptionalName("user_id", req.userId),
    };
    const after = req.cursor === "" ? undefined : decodeCursor(req.cursor);
    for await (const change of feed.subscribe(filter, after, ctx.signal)) {
      yield {
        op: OPS[change.op],
        reservation: reservationToProto(change.reservation),
        cursor: encodeCursor(change.position),
        committedAt: microsToTimestamp(change.committedAt),
      };
    }
  };
}
