import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { notFound, quote } from "../../domain/errors.js";
import {
  type Health,
  type HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
} from "../../gen/grpc/health/v1/health_pb.js";

/** The server's health as grpc.health.v1 reports it. */
export interface HealthService {
  /** The grpc.health.v1.Health implementation (Check, Watch, List). */
  readonly impl: ServiceImpl<typeof Health>;
  /** Whether the server can serve now (its database answers). */
  readonly serving: boolean;
  /** Reports every service SERVING or NOT_SERVING; Watch streams hear of each change. */
  setServing(serving: boolean): void;
  /** For shutdown: NOT_SERVING for good, told to watchers, whose streams then end. */
  close(): void;
}

/**
 * Health for `services` and for the server as a whole (the empty name): all of them serve
 * exactly when the database does, since every rpc needs it.
 */
export function createHealth(services: readonly string[]): HealthService {
  const names = new Set(["", ...services]);
  let serving = true;
  let closed = false;
  let wake = () => {};
  let changed = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const notify = () => {
    const done = wake;
    changed = new Promise<void>((resolve) => {
      wake = resolve;
    });
    done();
  };
  const statusOf = (service: string) =>
    !names.has(service) ? Status.SERVICE_UNKNOWN : serving ? Status.SERVING : Status.NOT_SERVING;
  const response = (status: Status): MessageInitShape<typeof HealthCheckResponseSchema> => ({
    status,
  });

  return {
    get serving() {
      return serving;
    },
    setServing(next) {
      if (closed || next === serving) return;
      serving = next;
      notify();
    },
    close() {
      closed = true;
      serving = false;
      notify();
    },
    impl: {
      check(req) {
        if (!names.has(req.service)) {
          throw notFound(`unknown service ${quote(req.service)}`);
        }
        return response(statusOf(req.service));
      },
      async *watch(req, ctx) {
        const aborted = new Promise<void>((resolve) =>
          ctx.signal.addEventListener("abort", () => resolve(), { once: true }),
        );
        let last: Status | undefined;
        for (;;) {
          const now = statusOf(req.service);
          if (now !== last) yield response(now);
          last = now;
          if (closed || ctx.signal.aborted) return;
          await Promise.race([changed, aborted]);
        }
      },
      list() {
        const statuses: Record<string, MessageInitShape<typeof HealthCheckResponseSchema>> = {};
        for (const name of names) statuses[name] = response(statusOf(name));
        return { statuses };
      },
    },
  };
}
