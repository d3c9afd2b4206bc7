import { createContextKey, type HandlerContext } from "@connectrpc/connect";

/**
 * Sends a streaming call's response headers now, with what the handler put in
 * `ctx.responseHeader`. The native gRPC transport holds a stream's headers until this is
 * called or the first message leaves, so a client that has the headers knows the handler got
 * that far (for `listen`: the subscription is registered). Connect's transports send headers
 * with the first message whatever happens; there it does nothing.
 */
export const SEND_HEADERS = createContextKey<() => void>(() => {}, {
  description: "send the response headers now",
});

/** Sends the call's response headers now, where the transport can. */
export function sendHeaders(ctx: HandlerContext): void {
  ctx.values.get(SEND_HEADERS)();
}
