import { createHmac, timingSafeEqual } from "node:crypto";
import type { Position } from "../../domain/change.js";
import { invalidArgument } from "../../domain/errors.js";

/** Turns feed positions into the opaque cursors clients hold, and back. */
export interface CursorCodec {
  encode(position: Position): string;
  /** The position a cursor names; INVALID_ARGUMENT unless this database issued it unaltered. */
  decode(cursor: string): Position;
}

const BODY = /^v2\.([0-9a-f-]{36})\.(\d{1,20})\.(\d{1,19})$/;
// The columns' ranges: xid8 is unsigned 64-bit, seq a signed bigint.
const MAX_XID = 2n ** 64n - 1n;
const MAX_SEQ = 2n ** 63n - 1n;

/**
 * Cursors that cannot lie: `v2.<database id>.<xid>.<seq>`, base64url, then a MAC made with the
 * secret every server process of this database shares. An edited or forged cursor fails the
 * MAC; one from another database (or a restore of another) names the wrong database id. Both
 * are INVALID_ARGUMENT; the feed itself refuses a well-formed one that points past its head.
 */
export function createCursorCodec(secret: string, databaseId: string): CursorCodec {
  const mac = (data: string) =>
    createHmac("sha256", secret).update(`cursor|${data}`).digest().subarray(0, 16);
  const notOurs = () => invalidArgument("cursor is not one this service issued");
  return {
    encode(p) {
      const data = Buffer.from(`v2.${databaseId}.${p.xid}.${p.seq}`).toString("base64url");
      return `${data}.${mac(data).toString("base64url")}`;
    },
    decode(cursor) {
      const [data = "", sig = "", ...rest] = cursor.split(".");
      const m = BODY.exec(Buffer.from(data, "base64url").toString("latin1"));
      if (!m || rest.length > 0) throw notOurs();
      if (m[1] !== databaseId) {
        throw invalidArgument(
          "cursor was issued by another database: query the current state, then listen from the query's cursor",
        );
      }
      const given = Buffer.from(sig, "base64url");
      const expected = mac(data);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw notOurs();
      const position = { xid: BigInt(m[2] ?? ""), seq: BigInt(m[3] ?? "") };
      if (position.xid > MAX_XID || position.seq > MAX_SEQ) throw notOurs();
      return position;
    },
  };
}
