import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Code, RsvpError } from "../src/domain/errors.js";
import type { ReservationFilter } from "../src/domain/reservation.js";
import { createCursorCodec } from "../src/server/service/cursor-codec.js";
import { createPageTokens } from "../src/server/service/page-token.js";

// The opaque strings clients hold, tested directly: listen cursors and filter page tokens.

const DB = "6f1c1d5e-2b1a-4d8e-9a51-0c7d4c2b9e10";
const OTHER_DB = "0b0d4f5a-7a51-4c1e-8f5d-9d2b1c3e4a50";
const invalid = (fn: () => unknown, message: RegExp) =>
  assert.throws(
    fn,
    (e: unknown) =>
      e instanceof RsvpError && e.code === Code.InvalidArgument && message.test(e.message),
  );

describe("cursor codec", () => {
  const codec = createCursorCodec("secret-1", DB);
  const positionArb = fc
    .tuple(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }))
    .map(([xid, seq]) => ({ xid, seq }));

  it("decodes what it encoded, for every position the columns hold", () => {
    fc.assert(
      fc.property(positionArb, (p) => {
        assert.deepEqual(codec.decode(codec.encode(p)), p);
      }),
    );
  });

  it("refuses an edited cursor, another secret's, and another database's", () => {
    fc.assert(
      fc.property(positionArb, fc.nat(), (p, at) => {
        const cursor = codec.encode(p);
        const i = at % cursor.length;
        const flipped = cursor[i] === "A" ? "B" : "A";
        const edited = cursor.slice(0, i) + flipped + cursor.slice(i + 1);
        // A base64url edit may leave the decoded bytes alone (the last character's spare
        // bits); then it is the same cursor.
        if (edited !== cursor) {
          try {
            assert.deepEqual(codec.decode(edited), p);
          } catch (e) {
            assert.ok(e instanceof RsvpError && e.code === Code.InvalidArgument, String(e));
          }
        }
      }),
    );
    const p = { xid: 42n, seq: 7n };
    invalid(
      () => createCursorCodec("secret-2", DB).decode(codec.encode(p)),
      /not one this service issued/,
    );
    invalid(
      () => createCursorCodec("secret-1", OTHER_DB).decode(codec.encode(p)),
      /another database/,
    );
    invalid(() => codec.decode(""), /not one this service issued/);
    invalid(() => codec.decode(`${codec.encode(p)}.extra`), /not one this service issued/);
  });
});

describe("page tokens", () => {
  const tokens = createPageTokens("key-1");
  const filter: ReservationFilter = { resourceId: "room", userId: undefined, desc: false };
  const pos = { phase: "inside" as const, after: { start: 1_700_000_000_000_000n, id: "abc" } };

  it("decode what they encoded for the same filters", () => {
    assert.deepEqual(tokens.decode(filter, tokens.encode(filter, pos)), pos);
    const straddling = { phase: "straddling" as const, after: { start: -5n, id: "x" } };
    assert.deepEqual(tokens.decode(filter, tokens.encode(filter, straddling)), straddling);
  });

  it("refuse other filters, another key, and edits", () => {
    const token = tokens.encode(filter, pos);
    const bad = /page_token is invalid, or was issued for other filters/;
    invalid(() => tokens.decode({ ...filter, resourceId: "hall" }, token), bad);
    invalid(() => tokens.decode({ ...filter, desc: true }, token), bad);
    invalid(() => createPageTokens("key-2").decode(filter, token), bad);
    invalid(() => tokens.decode(filter, `x${token}`), bad);
    invalid(() => tokens.decode(filter, token.split(".")[0] ?? ""), bad);
  });
});
