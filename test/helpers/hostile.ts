import { create } from "@bufbuild/protobuf";
import { DurationSchema, type Timestamp, TimestampSchema } from "@bufbuild/protobuf/wkt";
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
  { arbitrary: fc.constantFrom("fz-a", "fz-b", "fz-pool"), weight: 3 },
  { arbitrary: hostileString, weight: 1 },
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
type Window = { readonly start: Timestamp | undefined; readonly end: Timestamp | undefined };

/**
 * A Duration (or unset, as often as not, so that a message with several still has valid ones):
 * any seconds and nanos, favouring the edges of the 10-year bound and far beyond it.
 */
export const hostileDuration = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 5 },
  {
    arbitrary: fc
      .record({
        seconds: fc.oneof(
          { arbitrary: fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), weight: 1 },
          { arbitrary: fc.bigInt(-10n, 100_000n), weight: 2 },
          { arbitrary: fc.bigInt(TEN_YEARS - 2n, TEN_YEARS + 2n), weight: 2 },
          {
            arbitrary: fc.constantFrom(1_000_000_000_000n, 315_360_000_000n, INT64_MAX),
            weight: 2,
          },
        ),
        nanos: fc.oneof(
          { arbitrary: fc.integer({ min: 0, max: 999_999_999 }), weight: 4 },
          { arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), weight: 1 },
        ),
      })
      .map((d) => create(DurationSchema, d)),
    weight: 2,
  },
);

/**
 * A window that every check lets through (2030, or at either end of representable time) or,
 * as often, any two timestamps: a request must get past the window to reach the store.
 */
export const hostileWindow = fc.oneof(
  fc.record({ start: hostileTimestamp, end: hostileTimestamp }),
  fc
    .tuple(fc.integer({ min: 0, max: 48 }), fc.integer({ min: 1, max: 180 }))
    .map(([h, minutes]) => {
      const s = 1_893_456_000n + BigInt(h) * 3600n;
      return {
        start: create(TimestampSchema, { seconds: s }),
        end: create(TimestampSchema, { seconds: s + BigInt(minutes) * 60n }),
      };
    }),
  fc
    .constantFrom(
      { start: -62_135_596_800n, end: -62_135_593_200n },
      { start: 253_402_297_200n, end: 253_402_300_799n },
      { start: -62_135_596_800n, end: 253_402_300_799n },
    )
    .map((w) => ({
      start: create(TimestampSchema, { seconds: w.start }),
      end: create(TimestampSchema, { seconds: w.end }),
    })),
);

/** `arb` with its window (where `put` puts it) drawn from hostileWindow. */
function windowed<T>(arb: fc.Arbitrary<T>, put: (t: T, w: Window) => T): fc.Arbitrary<T> {
  return fc.tuple(arb, hostileWindow).map(([t, w]) => put(t, w));
}

/** Any int32 value for an enum, known or not. */
export const hostileEnum = fc.oneof(
  fc.integer({ min: -1, max: 6 }),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
);

/** A reservation to make: often a valid one, so that hostile settings of its resource are met. */
const hostileReservation = windowed(
  fc.record({
    id: hostileString,
    userId: fc.oneof(fc.constant("u"), hostileString),
    resourceId: hostileName,
    status: fc.oneof(fc.integer({ min: 0, max: 3 }), hostileEnum),
    start: hostileTimestamp,
    end: hostileTimestamp,
    note: fc.oneof(fc.constant(""), hostileString),
    expiresAt: fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 3 },
      { arbitrary: hostileTimestamp, weight: 1 },
    ),
  }),
  (r, w) => ({ ...r, ...w }),
);

/** hold_seconds: none, short, about a year, or anything a uint32 holds. */
const hostileHold = fc.oneof(
  { arbitrary: fc.constant(0), weight: 3 },
  { arbitrary: fc.nat({ max: 100 }), weight: 1 },
  { arbitrary: fc.integer({ min: 366 * 86_400 - 1, max: 366 * 86_400 + 1 }), weight: 1 },
  { arbitrary: fc.nat({ max: 2 ** 32 - 1 }), weight: 1 },
);

/** Random request bodies for every rpc, tagged with the rpc's name. */
export const hostileRequest = fc.oneof(
  fc.record({
    rpc: fc.constant("reserve" as const),
    req: fc.record({
      reservation: fc.option(hostileReservation, { nil: undefined }),
      holdSeconds: hostileHold,
      requestId: fc.oneof(fc.constant(""), hostileString),
      pool: fc.oneof(fc.constant(""), hostileName),
    }),
  }),
  fc.record({
    rpc: fc.constantFrom("confirm" as const, "cancel" as const, "get" as const),
    req: fc.record({ id: hostileId }),
  }),
  fc.record({
    rpc: fc.constant("update" as const),
    req: windowed(
      fc.record({
        id: hostileId,
        note: fc.option(hostileString, { nil: undefined }),
        start: hostileTimestamp,
        end: hostileTimestamp,
      }),
      (r, w) => ({ ...r, ...w }),
    ),
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
    req: windowed(
      fc.record({
        resourceId: hostileName,
        start: hostileTimestamp,
        end: hostileTimestamp,
        minDuration: hostileDuration,
        pool: fc.oneof(fc.constant(""), fc.constant(""), hostileName),
      }),
      (r, w) => ({ ...r, ...w }),
    ),
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
  reservation: fc.option(hostileReservation, { nil: undefined }),
  holdSeconds: hostileHold,
  requestId: fc.constant(""),
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

const DURATION_FIELDS = ["bufferBefore", "bufferAfter"] as const;
const RULE_FIELDS = ["minDuration", "maxDuration", "minNotice", "maxAdvance"] as const;

/**
 * A shared resource registered with one setting at an extreme and the rest sane: the settings
 * the later reserves and searches of its pool then meet.
 */
const extremeResource = fc
  .record({
    id: fc.constantFrom("fz-a", "fz-b"),
    field: fc.constantFrom(...DURATION_FIELDS, ...RULE_FIELDS),
    value: hostileDuration.filter((d) => d !== undefined),
  })
  .map(({ id, field, value }) => ({
    resource: (DURATION_FIELDS as readonly string[]).includes(field)
      ? { id, pool: "fz-pool", [field]: value }
      : { id, pool: "fz-pool", rules: { [field]: value } },
  }));

/** Random requests for every rpc of the resource catalog. */
export const hostileCatalogRequest = fc.oneof(
  fc.record({ rpc: fc.constant("putResource" as const), req: extremeResource }),
  fc.record({
    rpc: fc.constant("putResource" as const),
    req: fc.record({
      resource: fc.option(
        fc.record({
          id: hostileName,
          pool: fc.oneof(fc.constant(""), hostileName),
          timeZone: fc.oneof(fc.constant(""), hostileZone),
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
