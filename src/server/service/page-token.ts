import { createHmac, timingSafeEqual } from "node:crypto";
import type { PagePosition } from "../../db/store/query-reservations.js";
import { invalidArgument } from "../../domain/errors.js";
import type { ReservationFilter } from "../../domain/reservation.js";

/** Default and largest page of `filter` and `listResources`. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

const bad = () => invalidArgument("page_token is invalid, or was issued for other filters");

/**
 * Page tokens: the keyset position plus a fingerprint of the filters, MAC'd with a key every
 * server process on the database shares, so a token works on any of them, survives restarts,
 * and cannot be forged or replayed against other filters.
 */
export function createPageTokens(key: string) {
  const mac = (data: string) => createHmac("sha256", key).update(data).digest().subarray(0, 16);
  const fingerprint = (f: ReservationFilter) =>
    mac(
      JSON.stringify([
        f.resourceId,
        f.userId,
        f.status,
        f.start?.toString(),
        f.end?.toString(),
        f.desc,
        f.groupId,
      ]),
    )
      .subarray(0, 8)
      .toString("base64url");

  return {
    encode(filter: ReservationFilter, pos: PagePosition): string {
      const body = JSON.stringify([
        fingerprint(filter),
        pos.phase,
        pos.after?.start.toString(),
        pos.after?.id,
      ]);
      const data = Buffer.from(body).toString("base64url");
      return `${data}.${mac(data).toString("base64url")}`;
    },
    decode(filter: ReservationFilter, token: string): PagePosition {
      const [data = "", sig = ""] = token.split(".");
      const expected = mac(data);
      const given = Buffer.from(sig, "base64url");
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw bad();
      const parsed: unknown = JSON.parse(Buffer.from(data, "base64url").toString());
      if (!Array.isArray(parsed) || parsed[0] !== fingerprint(filter)) throw bad();
      const [, phase, start, id] = parsed as [string, unknown, unknown, unknown];
      if (
        (phase !== "inside" && phase !== "straddling") ||
        typeof start !== "string" ||
        typeof id !== "string"
      ) {
        throw bad();
      }
      return { phase, after: { start: BigInt(start), id } };
    },
  };
}
