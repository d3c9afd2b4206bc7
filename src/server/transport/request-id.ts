import { randomUUID } from "node:crypto";

/** The header (gRPC metadata key) that carries a request's id, both ways. */
export const REQUEST_ID = "x-request-id";

/**
 * The caller's request id when it is usable (short printable ASCII: it lands in logs), else
 * a fresh one.
 */
export function requestIdFrom(sent: string | null | undefined): string {
  return typeof sent === "string" && /^[\x21-\x7e]{1,128}$/.test(sent) ? sent : randomUUID();
}
