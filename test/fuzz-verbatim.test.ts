import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { parseName } from "../src/domain/validate.js";
import { cursorAt } from "./helpers/cursors.js";
import { backends } from "./helpers/databases.js";
import { hour } from "./helpers/fixtures.js";
import { SQL_METACHARACTERS } from "./helpers/hostile.js";
import { type Caller, connectCaller, connectTransport, grpcCaller } from "./helpers/rpc-caller.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";
import { TEST_AUTH, tokenFor } from "./helpers/tokens.js";

const LIMIT = { timeout: 180_000 };
/** Whether the service takes `s` as a user or resource id. */
const validName = (s: string) => {
  try {
    parseName("id", s);
    return true;
  } catch {
    return false;
  }
};

for (const backend of backends) {
  describe(`hostile strings are stored and returned verbatim (${backend.name})`, () => {
    let t: TestServer;
    let callers: Caller[];
    before(async () => {
      t = await startTestServer(backend, undefined, { auth: TEST_AUTH });
      const admin = await tokenFor("root", "admin");
      callers = [
        grpcCaller(t.client, admin),
        connectCaller(connectTransport(t.app.httpAddress), admin),
      ];
    });
    after(() => t.close());

    it("SQL metacharacters in every string field, through every rpc", LIMIT, async () => {
      for (const c of callers) {
        for (const [i, raw] of SQL_METACHARACTERS.entries()) {
          const m = `${c.transport[0]}${raw}`; // one resource per transport and string
          const label = `${c.transport} ${JSON.stringify(m)}`;
          const fields = { userId: m, resourceId: m, note: `${m}\n${raw}` };
          const window = { start: hour(i), end: hour(i + 1) };
          const { reservation } = await c.reserve({
            reservation: { ...fields, ...window },
            requestId: m,
          });
          assert.ok(reservation, label);
          assert.deepEqual(
            [reservation.userId, reservation.resourceId, reservation.note],
            [fields.userId, fields.resourceId, fields.note],
            label,
          );
          const { id } = reservation;
          const again = await c.reserve({ reservation: { ...fields, ...window }, requestId: m });
          assert.equal(again.reservation?.id, id, `${label}: the idempotency key matched itself`);
          assert.deepEqual((await c.get({ id })).reservation, reservation, label);
          // Equality, not LIKE: `%` and `_` match only themselves.
          const ids = (rs: Array<{ id: string }>) => rs.map((r) => r.id);
          assert.deepEqual(ids(await c.query({ resourceId: m })), [id], `${label} query resource`);
          assert.deepEqual(ids(await c.query({ userId: m })), [id], `${label} query user`);
          const page = await c.filter({ resourceId: m, userId: m, pageSize: 5 });
          assert.deepEqual(ids(page.reservations), [id], `${label} filter`);
          const [event] = await c.listen({
            resourceId: m,
            userId: m,
            cursor: await cursorAt(t.app),
          });
          assert.equal(event?.reservation?.id, id, `${label} listen`);
          const free = await c.available({ resourceId: m, start: hour(i - 1), end: hour(i + 2) });
          assert.equal(free.windows.length, 2, `${label} available`);
          const note = `${c.transport}: ${raw}'"\\%_$1;--`;
          const updated = await c.update({ id, note });
          assert.equal(updated.reservation?.note, note, `${label} update`);
        }
      }
      const everything = await callers[0]?.query({});
      assert.ok(
        everything && everything.length >= 2 * SQL_METACHARACTERS.length,
        "the table is intact",
      );
    });

    // The embedded database (PGlite 0.5) drops a leading U+FEFF from every text value it
    // returns, though it stores it: a defect of its wire decoder, reported upstream-worthy.
    if (backend.name === "postgres") {
      it("a leading U+FEFF is text, not a byte-order mark", async () => {
        const [c] = callers;
        assert.ok(c);
        const note = "\uFEFFstarts with a BOM";
        const { reservation } = await c.reserve({
          reservation: {
            userId: "\uFEFFu",
            resourceId: "\uFEFFr",
            note,
            start: hour(0),
            end: hour(1),
          },
        });
        assert.deepEqual(
          [reservation?.userId, reservation?.resourceId, reservation?.note],
          ["\uFEFFu", "\uFEFFr", note],
        );
      });
    }

    it("a token subject full of metacharacters owns and lists verbatim", async () => {
      const sub = "'; DROP TABLE rsvp.reservations; -- %_\\$1";
      const user = grpcCaller(t.client, await tokenFor(sub, "user"));
      const { reservation } = await user.reserve({
        reservation: { resourceId: "verbatim-sub", start: hour(0), end: hour(1) },
      });
      assert.equal(reservation?.userId, sub);
      const mine = await user.query({});
      assert.deepEqual(
        mine.map((r) => r.id),
        [reservation?.id],
      );
    });

    it("random valid names and notes round-trip exactly (property)", LIMIT, async () => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }).filter(validName),
          // Any text but NUL (Postgres cannot store it) and lone surrogates (not text at all).
          fc
            .string({ unit: "binary", maxLength: 200 })
            .filter((s) => !s.includes("\u0000") && !/\p{Cs}/u.test(s)),
          fc.nat(),
          async (name, note, pick) => {
            const c = callers[pick % callers.length];
            assert.ok(c);
            const resourceId = [...`p${n++}:${name}`].slice(0, 64).join("");
            const { reservation } = await c.reserve({
              reservation: {
                userId: name,
                resourceId: resourceId,
                note,
                start: hour(0),
                end: hour(1),
              },
            });
            assert.equal(reservation?.userId, name);
            assert.equal(reservation?.resourceId, resourceId);
            assert.equal(reservation?.note, note);
            const rows = await c.query({ resourceId: resourceId });
            assert.deepEqual(
              rows.map((r) => r.id),
              [reservation?.id],
            );
          },
        ),
        { numRuns: 100 },
      );
    });
  });
}
