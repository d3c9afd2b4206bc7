import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { status } from "@grpc/grpc-js";
import {
  type ReservationService,
  ReservationService as ReservationServiceDesc,
  ReservationStatus as S,
} from "../src/gen/reservation/reservation_pb.js";
import { type ResourceSchema, ResourceService } from "../src/gen/reservation/resource_pb.js";
import { backends } from "./helpers/databases.js";
import { ts } from "./helpers/fixtures.js";
import { connectTransport, failureOf } from "./helpers/rpc-caller.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";
import { TEST_AUTH, tokenFor } from "./helpers/tokens.js";

const min = (m: number) => ({ seconds: BigInt(m * 60) });
/** 2030-01-01 at hh:mm UTC. */
const at = (hhmm: string) => ts(`2030-01-01T${hhmm}:00Z`);
const micros = (t: { seconds: bigint; nanos: number } | undefined) =>
  t ? t.seconds * 1_000_000n + BigInt(t.nanos / 1000) : undefined;
const hhmm = (t: { seconds: bigint } | undefined) =>
  t ? new Date(Number(t.seconds) * 1000).toISOString().slice(11, 16) : "";
/** An instant `m` minutes from now, at whole seconds. */
const fromNow = (m: number) =>
  ts(new Date(Math.floor(Date.now() / 1000) * 1000 + m * 60_000).toISOString());

type ResourceInit = MessageInitShape<typeof ResourceSchema>;

/** Both services over one transport, with the calls these tests make. */
interface Clients {
  readonly name: string;
  readonly resources: ReturnType<typeof createClient<typeof ResourceService>>;
  readonly reservations: Pick<
    ReturnType<typeof createClient<typeof ReservationService>>,
    "reserve" | "update" | "cancel" | "available"
  >;
}

function transports(t: TestServer): Clients[] {
  const connect = connectTransport(t.app.httpAddress);
  return [
    // The native client's calls take the same requests and resolve to the same messages.
    { name: "grpc", resources: t.resources, reservations: t.client } as unknown as Clients,
    {
      name: "connect",
      resources: createClient(ResourceService, connect),
      reservations: createClient(ReservationServiceDesc, connect),
    },
  ];
}

for (const backend of backends) {
  describe(`resource catalog (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(() => t.close());

    for (const transport of ["grpc", "connect"]) {
      const clients = () => transports(t).find((c) => c.name === transport) as Clients;

      it(`${transport}: put, get, list by pool in pages, delete`, async () => {
        const { resources } = clients();
        const p = `${transport}-lot`;
        const put = await resources.putResource({
          resource: { id: `${p}-1`, pool: p, bufferAfter: min(5), note: "by the gate" },
        });
        assert.equal(put.timeZone, "UTC", "the time zone defaults to UTC");
        assert.equal(put.bufferAfter?.seconds, 300n);
        assert.equal(put.rules?.minNotice, undefined, "an unset rule stays unset");
        assert.ok(put.createdAt);
        for (const n of [2, 3])
          await resources.putResource({ resource: { id: `${p}-${n}`, pool: p } });
        await resources.putResource({ resource: { id: `${p}-other`, pool: `${p}-b` } });
        const replaced = await resources.putResource({
          resource: {
            id: `${p}-1`,
            pool: p,
            timeZone: "Europe/Berlin",
            rules: { minNotice: min(30) },
          },
        });
        assert.equal(replaced.timeZone, "Europe/Berlin");
        assert.equal(replaced.bufferAfter?.seconds ?? 0n, 0n, "put replaces the whole resource");
        assert.equal(replaced.rules?.minNotice?.seconds, 1800n);
        assert.deepEqual(replaced.createdAt, put.createdAt);
        const got = await resources.getResource({ id: `${p}-1` });
        assert.equal(got.note, "");
        assert.equal(got.rules?.minNotice?.seconds, 1800n);

        const first = await resources.listResources({ pool: p, pageSize: 2 });
        assert.deepEqual(
          first.resources.map((r) => r.id),
          [`${p}-1`, `${p}-2`],
        );
        assert.notEqual(first.nextPageToken, "");
        const second = await resources.listResources({
          pool: p,
          pageSize: 2,
          pageToken: first.nextPageToken,
        });
        assert.deepEqual(
          second.resources.map((r) => r.id),
          [`${p}-3`],
        );
        assert.equal(second.nextPageToken, "");
        const wrongPool = await failureOf(
          resources.listResources({ pool: `${p}-b`, pageToken: first.nextPageToken }),
        );
        assert.equal(wrongPool?.code, status.INVALID_ARGUMENT);

        await resources.deleteResource({ id: `${p}-3` });
        assert.equal(
          (await failureOf(resources.getResource({ id: `${p}-3` })))?.code,
          status.NOT_FOUND,
        );
        assert.equal(
          (await failureOf(resources.deleteResource({ id: `${p}-3` })))?.code,
          status.NOT_FOUND,
        );
      });

      it(`${transport}: a bad time zone or a negative duration is INVALID_ARGUMENT`, async () => {
        const { resources } = clients();
        const bad: ResourceInit[] = [
          { id: "r", timeZone: "Mars/Olympus" },
          { id: "r", bufferBefore: { seconds: -60n } },
          { id: "r", rules: { maxAdvance: { seconds: -1n } } },
          { id: "r", rules: { minDuration: min(60), maxDuration: min(30) } },
          { id: "" },
        ];
        for (const resource of bad) {
          const f = await failureOf(resources.putResource({ resource }));
          assert.equal(
            f?.code,
            status.INVALID_ARGUMENT,
            JSON.stringify(resource, (_, v) => (typeof v === "bigint" ? `${v}` : v)),
          );
        }
        assert.equal(
          (await failureOf(resources.getResource({ id: "never-registered" })))?.code,
          status.NOT_FOUND,
        );
      });

      it(`${transport}: deleting a resource with live reservations not yet ended is FAILED_PRECONDITION`, async () => {
        const { resources, reservations } = clients();
        const id = `${transport}-busy`;
        await resources.putResource({ resource: { id } });
        const { reservation } = await reservations.reserve({
          reservation: { userId: "u", resourceId: id, start: at("10:00"), end: at("11:00") },
        });
        const f = await failureOf(resources.deleteResource({ id }));
        assert.equal(f?.code, status.FAILED_PRECONDITION);
        assert.match(f?.message ?? "", /live reservations/);
        await reservations.cancel({ id: reservation?.id ?? "" });
        await resources.deleteResource({ id });
      });

      it(`${transport}: buffers widen the windows in the constraint itself`, async () => {
        const { resources, reservations } = clients();
        const id = `${transport}-room-b`;
        await resources.putResource({
          resource: { id, bufferBefore: min(10), bufferAfter: min(15) },
        });
        const reserve = (start: string, end: string) =>
          reservations.reserve({
            reservation: { userId: "u", resourceId: id, start: at(start), end: at(end) },
          });
        await reserve("10:00", "11:00");
        for (const [start, end] of [
          ["11:00", "12:00"],
          ["09:00", "09:45"],
        ] as const) {
          const f = await failureOf(reserve(start, end));
          assert.equal(f?.code, status.ALREADY_EXISTS, `${start}-${end}`);
          // The clash names the other reservation's own window, not its widened one.
          assert.equal(micros(f?.conflict?.existingStart), micros(at("10:00")));
          assert.equal(micros(f?.conflict?.existingEnd), micros(at("11:00")));
          assert.match(f?.message ?? "", /10:00:00.*11:00:00/);
        }
        const { windows } = await reservations.available({
          resourceId: id,
          start: at("09:00"),
          end: at("13:00"),
        });
        assert.deepEqual(
          windows.map((w) => [hhmm(w.start), hhmm(w.end)]),
          [
            ["09:00", "09:35"],
            ["11:25", "13:00"],
          ],
        );
        // Every window available names is reservable, to its very edges.
        await reserve("09:00", "09:35");
        await reserve("11:25", "12:00");
      });

      it(`${transport}: a reschedule is widened and clashes like a reserve`, async () => {
        const { resources, reservations } = clients();
        const id = `${transport}-room-m`;
        await resources.putResource({ resource: { id, bufferAfter: min(30) } });
        const reserve = (start: string, end: string) =>
          reservations.reserve({
            reservation: { userId: "u", resourceId: id, start: at(start), end: at(end) },
          });
        await reserve("10:00", "11:00");
        const { reservation } = await reserve("12:00", "13:00");
        const f = await failureOf(
          reservations.update({ id: reservation?.id ?? "", start: at("11:15"), end: at("12:00") }),
        );
        assert.equal(f?.code, status.ALREADY_EXISTS);
        const moved = await reservations.update({
          id: reservation?.id ?? "",
          start: at("11:30"),
          end: at("12:00"),
        });
        assert.equal(hhmm(moved.reservation?.start), "11:30");
      });
    }

    it("an unregistered resource behaves as before: back-to-back windows fit", async () => {
      await t.client.reserve({
        reservation: { userId: "u", resourceId: "plain", start: at("10:00"), end: at("11:00") },
      });
      await t.client.reserve({
        reservation: { userId: "u", resourceId: "plain", start: at("11:00"), end: at("12:00") },
      });
      const { windows } = await t.client.available({
        resourceId: "plain",
        start: at("09:00"),
        end: at("13:00"),
      });
      assert.deepEqual(
        windows.map((w) => [hhmm(w.start), hhmm(w.end)]),
        [
          ["09:00", "10:00"],
          ["12:00", "13:00"],
        ],
      );
    });

    it("a change of buffers applies to reservations made afterwards; those made keep theirs", async () => {
      const id = "rebuffered";
      await t.resources.putResource({ resource: { id, bufferAfter: min(30) } });
      await t.client.reserve({
        reservation: { userId: "u", resourceId: id, start: at("10:00"), end: at("11:00") },
      });
      await t.resources.putResource({ resource: { id } });
      // The 10:00 booking was sold with 30 minutes of cleaning after it: that stays.
      const f = await failureOf(
        t.client.reserve({
          reservation: { userId: "u", resourceId: id, start: at("11:00"), end: at("12:00") },
        }),
      );
      assert.equal(f?.code, status.ALREADY_EXISTS);
      await t.client.reserve({
        reservation: { userId: "u", resourceId: id, start: at("11:30"), end: at("12:00") },
      });
      // New ones have no buffer now: back to back with the 11:30 one fits.
      await t.client.reserve({
        reservation: { userId: "u", resourceId: id, start: at("12:00"), end: at("13:00") },
      });
    });

    it("rules: FAILED_PRECONDITION naming the rule, checked before clashes; blocked is exempt", async () => {
      const id = "room-4";
      await t.resources.putResource({
        resource: {
          id,
          rules: {
            minNotice: min(30),
            maxAdvance: min(24 * 60),
            minDuration: min(15),
            maxDuration: min(120),
          },
        },
      });
      const reserve = (start: number, end: number, st = S.PENDING) =>
        t.client.reserve({
          reservation: {
            userId: "u",
            resourceId: id,
            start: fromNow(start),
            end: fromNow(end),
            status: st,
          },
        });
      const cases: Array<[number, number, RegExp]> = [
        [10, 70, /room-4 needs at least 30m notice \(min_notice\)/],
        [25 * 60, 25 * 60 + 30, /room-4 cannot be booked more than 1d ahead \(max_advance\)/],
        [60, 70, /room-4 needs reservations of at least 15m \(min_duration\)/],
        [60, 200, /room-4 takes reservations of at most 2h \(max_duration\)/],
      ];
      for (const [start, end, message] of cases) {
        const f = await failureOf(reserve(start, end));
        assert.equal(f?.code, status.FAILED_PRECONDITION, String(message));
        assert.match(f?.message ?? "", message);
      }
      const ok = await reserve(60, 120);
      // Clashing and breaking a rule: the rule is what the caller hears.
      const f = await failureOf(reserve(60, 70));
      assert.equal(f?.code, status.FAILED_PRECONDITION);
      // An admin's maintenance block ignores the rules (but not the other reservations).
      await reserve(5, 10, S.BLOCKED);
      // A reschedule into a broken rule is refused and leaves the reservation as it was.
      const moved = await failureOf(
        t.client.update({ id: ok.reservation?.id ?? "", start: fromNow(15), end: fromNow(75) }),
      );
      assert.equal(moved?.code, status.FAILED_PRECONDITION);
      assert.match(moved?.message ?? "", /min_notice/);
      const kept = await t.client.get({ id: ok.reservation?.id ?? "" });
      assert.deepEqual(kept.reservation?.start, ok.reservation?.start);
      // Changing only the note never re-checks the window.
      await t.client.update({ id: ok.reservation?.id ?? "", note: "projector" });
    });

    it("available on a registered resource respects min_notice and min_duration", async () => {
      const id = "noticed";
      await t.resources.putResource({
        resource: { id, rules: { minNotice: min(60), minDuration: min(30) } },
      });
      const now = Date.now();
      // Each edge is taken once: two readings of the clock can fall in different seconds.
      const booked = { start: fromNow(100), end: fromNow(130) };
      await t.client.reserve({ reservation: { userId: "u", resourceId: id, ...booked } });
      const { windows } = await t.client.available({
        resourceId: id,
        start: fromNow(0),
        end: fromNow(180),
      });
      // [now+60m, now+100m) and [now+130m, now+180m): both longer than 30m.
      assert.equal(windows.length, 2);
      const first = windows[0];
      assert.ok(first?.start && Number(first.start.seconds) * 1000 >= now + 59 * 60_000);
      assert.equal(micros(first?.end), micros(booked.start));
      // Every returned window is reservable; the notice edge moves on with the clock, so the
      // first one is taken from a minute past its start.
      const [head, tail] = windows;
      assert.ok(head?.start && tail);
      const later = { seconds: head.start.seconds + 60n, nanos: head.start.nanos };
      for (const w of [{ start: later, end: head.end }, tail]) {
        await t.client.reserve({
          reservation: { userId: "u", resourceId: id, start: w.start, end: w.end },
        });
      }
    });
  });

  describe(`resource catalog authorization (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend, undefined, { auth: TEST_AUTH });
    });
    after(() => t.close());

    it("put and delete are for admins; get and list for any authenticated caller", async () => {
      const as = async (sub: string, role: "user" | "admin" | "service") => ({
        metadata: { authorization: `Bearer ${await tokenFor(sub, role)}` },
      });
      const admin = await as("root", "admin");
      const user = await as("alice", "user");
      const service = await as("billing", "service");
      await t.resources.putResource({ resource: { id: "guarded", pool: "g" } }, admin);
      for (const who of [user, service]) {
        const put = await failureOf(t.resources.putResource({ resource: { id: "guarded" } }, who));
        assert.equal(put?.code, status.PERMISSION_DENIED);
        const del = await failureOf(t.resources.deleteResource({ id: "guarded" }, who));
        assert.equal(del?.code, status.PERMISSION_DENIED);
        assert.equal((await t.resources.getResource({ id: "guarded" }, who)).pool, "g");
        const list = await t.resources.listResources({ pool: "g" }, who);
        assert.deepEqual(
          list.resources.map((r) => r.id),
          ["guarded"],
        );
      }
      const anon = await failureOf(t.resources.getResource({ id: "guarded" }));
      assert.equal(anon?.code, status.UNAUTHENTICATED);
      await t.resources.deleteResource({ id: "guarded" }, admin);
    });
  });
}
