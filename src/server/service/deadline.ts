import type { DescService } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { deadlineExceeded } from "../../domain/errors.js";

type Handler = (req: unknown, ctx: HandlerContext) => unknown;

/** When the caller stops waiting (epoch ms), or undefined for a call without a deadline. */
export function deadlineOf(ctx: HandlerContext): number | undefined {
  const left = ctx.timeoutMs();
  return left === undefined ? undefined : Date.now() + left;
}

/**
 * `impl` with its unary answers kept to their deadlines, on every transport: a result that is
 * ready only after the deadline passed is DEADLINE_EXCEEDED, never a late OK. The deadline's
 * timer aborts the call when it fires, but a busy event loop fires timers late, and a result
 * that arrives in the same turn would otherwise win.
 */
export function withDeadlines<S extends DescService>(
  service: S,
  impl: ServiceImpl<S>,
): ServiceImpl<S> {
  const handlers = impl as unknown as Record<string, Handler>;
  const wrapped: Record<string, Handler> = { ...handlers };
  for (const method of service.methods) {
    const handler = handlers[method.localName];
    if (!handler || method.methodKind !== "unary") continue;
    wrapped[method.localName] = async (req, ctx) => {
      const res = await handler(req, ctx);
      const left = ctx.timeoutMs();
      if (left !== undefined && left <= 0) throw deadlineExceeded();
      return res;
    };
  }
  return wrapped as unknown as ServiceImpl<S>;
}
