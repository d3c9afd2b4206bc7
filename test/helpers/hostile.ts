import { create } from "@bufbuild/protobuf";
import { DurationSchema, TimestampSchema } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";

/** Strings that break naive SQL, LIKE patterns, shells, JSON and terminals. */
export const SQL_METACHARACTERS = [
  "'; DROP TABLE rsvp.reservations; --",
  "' OR '1'='1",
  '"; DROP TABLE "reservations"; --',
  "\\",
  "\\\\'",
  "%",
  "_",
  "%_%",
  "$1",
  "$$ $body$",
  "E'\\x00'",
  "`whoami`",
  "/* */ --",
  "\\N",
  "a;b",
  "héllo wörld",
  "🦄 emoji 👩‍👩‍👧",
  "שלום RTL",
  "e\u0301 combining",
  "\uFEFF bom",
];

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Any string, favouring the ones that hurt: empty, huge, control characters, SQL. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.string({ unit: "grapheme", maxLength: 70 }),
  fc.constantFrom(...SQL_METACHARACTERS),
  fc.constantFrom("", " ", "\u0000", "a\u0000b", "\n", "\r\n\t", "\u001b[31m", "\uD800"),
  fc.constantFrom("x".repeat(64), "x".repeat(65), "é".repeat(65), "x".repeat(70_000)),
  // Longer than any status message may be: one quoted whole never reaches the caller.
  fc.constantFrom("x".repeat(100_000), "é".repeat(100_000), "🦄".repeat(50_000)),
  // Bidi controls make an id display as another one.
  fc.constantFrom("\u202Eevil", "a\u2066b", "\u200F", "\u061C", "\u0085"),
  fc.uuid().map((u) => u.toUpperCase()),
);

/**
 * A resource id or pool name: often one of a few that every request shares, so that a resource
 * registered with extreme settings is then booked and searched, else any string.
 */
export const hostileName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("fz-a", "fz-b", "fz-pool"),
  hostileString,
);

/** An id that is sometimes a valid uuid. */
export const hostileId: fc.Arbitrary<string> = fc.oneof(fc.uuid(), hostileString);

/** A Timestamp anywhere in int64 seconds, with nanos anywhere in int32 (or unset). */
export const hostileTimestamp = fc.option(
  fc
    .oneof(
      fc.record({
        seconds: fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
        nanos: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      }),
      // Mostly inside the representable range, so that valid requests happen too.
      fc.record({
        seconds: fc.bigInt({ min: 1_893_456_000n, max: 1_893_542_400n }),
        nanos: fc.integer({ min: 0, max: 999_999_999 }),
      }),
      fc.constantFrom(
        { seconds: -62_135_596_800n, nanos: 0 },
        { seconds: 253_402_300_799n, nanos: 999_999_999 },
        { seconds: 253_402_300_800n, nanos: 0 },
      ),
    )
    .map((t) => create(TimestampSchema, t)),
  { nil: undefined },
);

const TEN_YEARS = 3653n * 86_400n;

/** A Duration with any seconds and nanos (or unset), often near the 10-year bound. */
export const hostileDuration = fc.option(
  fc
    .record({
      seconds: fc.oneof(
        fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
        fc.bigInt(-10n, 100_000n),
        fc.bigInt(TEN_YEARS - 2n, TEN_YEARS + 2n),
        fc.constantFrom(1_000_000_000_000n, 315_360_000_000n, INT64_MAX),
      ),
      nanos: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    })
    .map((d) => create(DurationSchema, d)),
  { nil: undefined },
);

/** Any int32 value for an enum, known or not. */
export const hostileEnum = fc.oneof(
  fc.integer({ min: -1, max: 6 }),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
);

/** Random request bodies for every rpc, tagged with the rpc's name. */
export const hostileRequest = fc.oneof(
  fc.record({
    rpc: fc.constant("reserve" as const),
    req: fc.record({
      reservation: fc.option(
        fc.record({
          id: hostileString,
          userId: hostileString,
          resourceId: hostileName,
          status: hostileEnum,
          start: hostileTimestamp,
          end: hostileTimestamp,
          note: hostileString,
          expiresAt: hostileTimestamp,
        }),
        { nil: undefined },
      ),
      holdSeconds: fc.oneof(fc.constant(0), fc.nat({ max: 100 }), fc.nat({ max: 2 ** 32 - 1 })),
      requestId: hostileString,
      pool: fc.oneof(fc.constant(""), hostileName),
    }),
  }),
  fc.record({
    rpc: fc.constantFrom("confirm" as const, "cancel" as const, "get" as const),
    req: fc.record({ id: hostileId }),
  }),
  fc.record({
    rpc: fc.constant("update" as const),
    req: fc.record({
      id: hostileId,
      note: fc.option(hostileString, { nil: undefined }),
      start: hostileTimestamp,
      end: hostileTimestamp,
    }),
  }),
  fc.record({
    rpc: fc.constantFrom("query" as const, "filter" as const),
    req: fc.record({
      resourceId: hostileString,
      userId: hostileString,
      status: hostileEnum,
      start: hostileTimestamp,
      end: hostileTimestamp,
      desc: fc.boolean(),
      pageSize: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      pageToken: hostileString,
      groupId: fc.oneof(fc.constant(""), hostileId),
    }),
  }),
  fc.record({
    rpc: fc.constant("listen" as const),
    req: fc.record({
      resourceId: hostileString,
      userId: hostileString,
      cursor: fc.oneof(
        hostileString,
        fc.bigInt(0n, 2n ** 64n).map((n) => Buffer.from(`v1.${n}.${n}`).toString("base64url")),
      ),
    }),
  }),
  fc.record({
    rpc: fc.constant("available" as const),
    req: fc.record({
      resourceId: hostileName,
      start: hostileTimestamp,
      end: hostileTimestamp,
      minDuration: hostileDuration,
      pool: fc.oneof(fc.constant(""), hostileName),
    }),
  }),
);

/** An RRULE, well-formed or not: strict numbers, odd parts, huge values. */
export const hostileRrule = fc.oneof(
  hostileString,
  fc
    .record({
      freq: fc.constantFrom("DAILY", "WEEKLY", "MONTHLY", "YEARLY", "daily", ""),
      count: fc.constantFrom("1", "3", "-1", "+3", "0", "2.5", "1e3", "99999999999999999999", ""),
      interval: fc.option(fc.constantFrom("1", "2", "0", "2.5", "-2", "999999"), {
        nil: undefined,
      }),
      until: fc.option(fc.constantFrom("20300105T000000Z", "99991231T235959Z", "0"), {
        nil: undefined,
      }),
      byday: fc.option(fc.constantFrom("MO,WE", "XX", "1MO", "MO".repeat(1000)), {
        nil: undefined,
      }),
    })
    .map((r) =>
      [
        `FREQ=${r.freq}`,
        r.until === undefined ? `COUNT=${r.count}` : `UNTIL=${r.until}`,
        r.interval === undefined ? "" : `;INTERVAL=${r.interval}`,
        r.byday === undefined ? "" : `;BYDAY=${r.byday}`,
      ].join(";"),
    ),
);

/** A time zone name, real or not. */
export const hostileZone = fc.oneof(
  hostileString,
  fc.constantFrom("UTC", "Europe/Berlin", "America/New_York", "Etc/GMT+14", "Mars/Olympus"),
);

const hostileReserve = fc.record({
  reservation: fc.option(
    fc.record({
      userId: hostileString,
      resourceId: hostileName,
      status: hostileEnum,
      start: hostileTimestamp,
      end: hostileTimestamp,
      note: hostileString,
      expiresAt: hostileTimestamp,
    }),
    { nil: undefined },
  ),
  holdSeconds: fc.oneof(fc.constant(0), fc.nat({ max: 100 }), fc.nat({ max: 2 ** 32 - 1 })),
  requestId: fc.oneof(fc.constant(""), hostileString),
  pool: fc.oneof(fc.constant(""), fc.constant(""), hostileName),
});

/** Random requests for the rpcs that book in groups. */
export const hostileGroupRequest = fc.oneof(
  fc.record({
    rpc: fc.constant("reserveAll" as const),
    req: fc.record({
      items: fc.array(hostileReserve, { maxLength: 4 }),
      requestId: hostileString,
    }),
  }),
  fc.record({
    rpc: fc.constant("reserveSeries" as const),
    req: fc.record({
      first: fc.option(hostileReserve, { nil: undefined }),
      rrule: hostileRrule,
      timeZone: fc.oneof(fc.constant(""), hostileZone),
      skipConflicts: fc.boolean(),
      requestId: hostileString,
    }),
  }),
);

/** Random requests for every rpc of the resource catalog. */
export const hostileCatalogRequest = fc.oneof(
  fc.record({
    rpc: fc.constant("putResource" as const),
    req: fc.record({
      resource: fc.option(
        fc.record({
          id: hostileName,
          pool: fc.oneof(fc.constant(""), hostileName),
          timeZone: hostileZone,
          bufferBefore: hostileDuration,
          bufferAfter: hostileDuration,
          rules: fc.option(
            fc.record({
              minDuration: hostileDuration,
              maxDuration: hostileDuration,
              minNotice: hostileDuration,
              maxAdvance: hostileDuration,
            }),
            { nil: undefined },
          ),
          note: hostileString,
        }),
        { nil: undefined },
      ),
    }),
  }),
  fc.record({
    rpc: fc.constantFrom("getResource" as const, "deleteResource" as const),
    req: fc.record({ id: hostileName }),
  }),
  fc.record({
    rpc: fc.constant("listResources" as const),
    req: fc.record({
      pool: hostileName,
      pageSize: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      pageToken: hostileString,
    }),
  }),
);

/** Bytes to send as a request message: noise, and truncated or bit-flipped `valid` ones. */
export function hostileBytes(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    // Truncated and bit-flipped valid messages reach deeper than pure noise.
    fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.nat()).map(([b, n]) => {
      const out = Buffer.concat([valid, Buffer.from(b)]);
      const at = n % out.length;
      out[at] = (out[at] ?? 0) ^ 0xff;
      return out.subarray(0, 1 + (n % out.length));
    }),
  );
}
