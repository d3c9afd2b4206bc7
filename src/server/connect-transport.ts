import { create, type DescService } from "@bufbuild/protobuf";
import {
  type Code as ConnectCode,
  ConnectError,
  type ConnectRouter,
  type Interceptor,
} from "@connectrpc/connect";
import { ReservationConflictSchema } from "../gen/reservation/reservation_pb.js";
import { microsToTimestamp } from "./convert.js";
import { toRsvpError } from "./error-mapping.js";
import type { Logger } from "./logger.js";

function toConnectError(err: unknown, log: Logger): ConnectError {
  if (err instanceof ConnectError) return err; // the protocol layer's own (bad request, deadline)
  const e = toRsvpError(err, log);
  const details = e.conflict
    ? [
        {
          desc: ReservationConflictSchema,
          value: create(ReservationConflictSchema, {
            resourceId: e.conflict.resourceId,
            requestedStart: microsToTimestamp(e.conflict.requested.start),
            requestedEnd: microsToTimestamp(e.conflict.requested.end),
            existingStart: microsToTimestamp(e.conflict.existing.start),
            existingEnd: microsToTimestamp(e.conflict.existing.end),
          }),
        },
      ]
    : [];
  return new ConnectError(e.message, e.code as number as ConnectCode, undefined, details);
}

async function* mapStreamErrors<T>(stream: AsyncIterable<T>, log: Logger): AsyncIterable<T> {
  try {
    yield* stream;
  } catch (err) {
    throw toConnectError(err, log);
  }
}

/** Maps errors once, at the Connect/gRPC-Web boundary, exactly as the native gRPC one does. */
export function errorInterceptor(log: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      const res = await next(req);
      return res.stream ? { ...res, message: mapStreamErrors(res.message, log) } : res;
    } catch (err) {
      throw toConnectError(err, log);
    }
  };
}

/** Registers services on a Connect router: the same implementations native gRPC serves. */
export function connectRoutes(services: Array<{ service: DescService; impl: object }>) {
  return (router: ConnectRouter) => {
    for (const { service, impl } of services) router.service(service, impl as never);
  };
}
