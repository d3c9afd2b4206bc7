import type { DescService } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Authenticator } from "./authenticator.js";
import { CALLER } from "./caller.js";

type Handler = (req: unknown, ctx: HandlerContext) => unknown;

async function authenticate(authenticator: Authenticator, ctx: HandlerContext) {
  ctx.values.set(CALLER, await authenticator.authenticate(ctx.requestHeader.get("authorization")));
}

/**
 * `impl` behind authentication: every call first turns its `authorization` header into the
 * caller (available to the handler as `CALLER`), or fails UNAUTHENTICATED before the handler
 * runs. Transport-independent: every transport hands its metadata over as `requestHeader`.
 */
export function withAuth<S extends DescService>(
  service: S,
  impl: ServiceImpl<S>,
  authenticator: Authenticator,
): ServiceImpl<S> {
  const handlers = impl as unknown as Record<string, Handler>;
  const wrapped: Record<string, Handler> = {};
  for (const method of service.methods) {
    const handler = handlers[method.localName];
    if (!handler) continue;
    wrapped[method.localName] =
      method.methodKind === "unary"
        ? async (req, ctx) => {
            await authenticate(authenticator, ctx);
            return handler(req, ctx);
          }
        : async function* (req, ctx) {
            await authenticate(authenticator, ctx);
            yield* handler(req, ctx) as AsyncIterable<unknown>;
          };
  }
  return wrapped as unknown as ServiceImpl<S>;
}
