import { setTimeout as sleep } from "node:timers/promises";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { Histogram } from "hdr-histogram-js";
import { createResourceClient, createRsvpClient } from "../src/client/grpc-client.js";
import {
  ListenRequestSchema,
  ListenResponseSchema,
  QueryRequestSchema,
  ReservationService,
  ReservationUpdateType,
} from "../src/gen/reservation/reservation_pb.js";
import { H2GrpcChannel } from "./h2-client.js";
import { histogram, percentiles } from "./recorder.js";
import type {
  ListenCloseTask,
  ListenOpenTask,
  ListenResult,
  QueryResult,
  QueryTask,
  VerifyResult,
  VerifyTask,
} from "./tasks.js";

const micros = (t: Timestamp | undefined) =>
  t === undefined ? Number.NaN : Number(t.seconds) * 1e6 + Math.floor(t.nanos / 1000);

// Wall clock with sub-millisecond resolution: committed_at comes from the same machine's clock.
const nowMicros = () => (performance.timeOrigin + performance.now()) * 1000;

const QUERY_PATH = `/${ReservationService.typeName}/${ReservationService.method.query.name}`;

/**
 * Streams a query to its end over the bare HTTP/2 client, as the listeners do: grpc-js's
 * client costs about as much CPU per message as the service, on the same two cores, and
 * would halve the rate it shows. Each message is counted as its frame completes.
 */
export async function runQuery(task: QueryTask): Promise<QueryResult> {
  const channel = new H2GrpcChannel(task.target);
  try {
    const body = toBinary(
      QueryRequestSchema,
      create(QueryRequestSchema, { resourceId: task.resourceId }),
    );
    const t0 = performance.now();
    let firstRowMs = Number.NaN;
    let rows = 0;
    await channel.stream(QUERY_PATH, body, () => {
      if (rows++ === 0) firstRowMs = performance.now() - t0;
    }).done;
    return { rows, firstRowMs, totalMs: performance.now() - t0 };
  } finally {
    channel.close();
  }
}

interface Listener {
  /** The resource it is filtered to, if any. */
  readonly resourceId?: string;
  readonly seen: Map<string, number>;
  readonly counts: { events: number; foreign: number };
  readonly done: Promise<void>;
  cancel(): void;
}

interface ListenSession {
  readonly channels: H2GrpcChannel[];
  readonly listeners: Listener[];
  readonly filtered: boolean;
  /** Commit → listener, µs. */
  readonly lag: Histogram;
  failures: string[];
  closing: boolean;
}

let session: ListenSession | undefined;

const LISTEN_PATH = `/${ReservationService.typeName}/${ReservationService.method.listen.name}`;

const listenRequest = (resourceId: string | undefined) =>
  toBinary(ListenRequestSchema, create(ListenRequestSchema, resourceId ? { resourceId } : {}));

/** Opens the listeners of a listen scenario; they run until {@link closeListeners}. */
export async function openListeners(task: ListenOpenTask): Promise<{ opened: number }> {
  if (session) throw new Error("a listen session is already open");
  // The bare HTTP/2 client, one connection per channel: at 100 listeners × thousands of
  // events a second, grpc-js's client cost per message would take the cores the service needs.
  const channels = Array.from({ length: task.channels ?? 1 }, () => new H2GrpcChannel(task.target));
  const s: ListenSession = {
    channels,
    listeners: [],
    filtered: task.resourcePrefix !== undefined,
    lag: histogram(),
    failures: [],
    closing: false,
  };
  session = s;
  const opened: Promise<unknown>[] = [];
  for (let i = 0; i < task.listeners; i++) {
    const resourceId =
      task.resourcePrefix === undefined ? undefined : `${task.resourcePrefix}-${i}`;
    const channel = channels[i % channels.length] as H2GrpcChannel;
    const seen = new Map<string, number>();
    const counts = { events: 0, foreign: 0 };
    const stream = channel.stream(LISTEN_PATH, listenRequest(resourceId), (bytes) => {
      const rx = nowMicros();
      const ev = fromBinary(ListenResponseSchema, bytes);
      counts.events++;
      s.lag.recordValue(Math.max(0, Math.round(rx - micros(ev.committedAt))));
      const id = ev.reservation?.id;
      if (resourceId !== undefined && ev.reservation?.resourceId !== resourceId) counts.foreign++;
      if (ev.op === ReservationUpdateType.CREATE && id) seen.set(id, (seen.get(id) ?? 0) + 1);
    });
    const listener: Listener = {
      ...(resourceId === undefined ? {} : { resourceId }),
      seen,
      counts,
      cancel: () => stream.cancel(),
      done: stream.done.catch((err: unknown) => {
        if (!s.closing) s.failures.push(String(err));
      }),
    };
    s.listeners.push(listener);
    opened.push(stream.opened);
  }
  await Promise.all(opened);
  return { opened: s.listeners.length };
}

/**
 * Waits for every listener to hear every acked create (filtered: for the listeners together
 * to hear each exactly once, each its own resource's), then closes them and reports.
 */
export async function closeListeners(task: ListenCloseTask): Promise<ListenResult> {
  const s = session;
  if (!s) throw new Error("no listen session is open");
  const deadline = Date.now() + task.timeoutMs;
  const heardBy = (): Map<string, number>[] => {
    if (!s.filtered) return s.listeners.map((l) => l.seen);
    const union = new Map<string, number>();
    for (const l of s.listeners)
      for (const [id, n] of l.seen) union.set(id, (union.get(id) ?? 0) + n);
    return [union];
  };
  const behind = () => heardBy().some((seen) => seen.size < task.ackedIds.length);
  while (behind() && Date.now() < deadline && s.failures.length === 0) await sleep(50);
  s.closing = true;
  for (const l of s.listeners) l.cancel();
  await Promise.all(s.listeners.map((l) => l.done));
  for (const c of s.channels) c.close();
  session = undefined;
  if (s.failures.length > 0) throw new Error(`listen failed: ${s.failures[0]}`);

  const acked = new Set(task.ackedIds);
  let missing = 0;
  let duplicates = 0;
  let foreign = 0;
  let events = 0;
  for (const l of s.listeners) {
    events += l.counts.events;
    foreign += l.counts.foreign;
  }
  for (const seen of heardBy()) {
    for (const id of acked) if (!seen.has(id)) missing++;
    for (const [id, count] of seen) {
      if (count > 1) duplicates += count - 1;
      if (!acked.has(id)) foreign++;
    }
  }
  return {
    listeners: s.listeners.length,
    events,
    missing,
    duplicates,
    foreign,
    maxMs: s.lag.maxValue / 1000,
    ...percentiles(s.lag),
  };
}

/** Reads every live reservation and checks windows per resource and the acked ids. */
export async function runVerify(task: VerifyTask): Promise<VerifyResult> {
  const client = createRsvpClient(task.target);
  const resources = createResourceClient(task.target);
  try {
    // Units each resource holds (unregistered ones: one).
    const capacity = new Map<string, number>();
    let pageToken = "";
    do {
      const page = await resources.listResources({ pageSize: 500, pageToken });
      for (const r of page.resources) capacity.set(r.id, Math.max(1, r.capacity));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    // Rows arrive by start: the units in use on a resource rise only at a row's start, and
    // are then that row's and those of the earlier rows of its resource not yet ended.
    const open = new Map<string, Array<{ end: number; units: number }>>();
    const ids = new Set<string>();
    let rows = 0;
    let overfilled = 0;
    for await (const r of client.query({})) {
      rows++;
      ids.add(r.id);
      const start = micros(r.start);
      const units = Math.max(1, r.quantity);
      const before = (open.get(r.resourceId) ?? []).filter((o) => o.end > start);
      before.push({ end: micros(r.end), units });
      open.set(r.resourceId, before);
      const used = before.reduce((sum, o) => sum + o.units, 0);
      if (used > (capacity.get(r.resourceId) ?? 1)) overfilled++;
    }
    const missing = task.ackedIds.filter((id) => !ids.has(id)).length;
    return { rows, overfilled, missing };
  } finally {
    client.close();
    resources.close();
  }
}
