// The protocol between the harness and its load-generator processes: one JSON task per stdin
// line, one JSON answer per stdout line, matched by id.

/** What one unary call of a load run does; `n` numbers the calls of the run from 0. */
export type UnaryOp =
  /** grpc.health.v1.Health/Check with an empty body, without protobuf: the transport alone. */
  | { readonly op: "empty" }
  /**
   * reserve on a resource of its own per call: never a conflict. With `spread`, call n takes
   * hour n ÷ spread of resource n mod spread instead (listeners filtered to those resources).
   */
  | { readonly op: "reserve"; readonly prefix: string; readonly spread?: number }
  /** reserve a random 1–3 h window among `hours` on one of `resources`: mostly conflicts. */
  | {
      readonly op: "contend";
      readonly prefix: string;
      readonly resources: number;
      readonly hours: number;
    }
  /**
   * reserve by pool: call n takes hour n ÷ `pools` of pool `${prefix}-${n mod pools}`, whose
   * first member is free then (disjoint windows: a pool reserve's fixed cost, no search).
   */
  | { readonly op: "pool"; readonly prefix: string; readonly pools: number }
  /**
   * Registers pool `${prefix}-${n ÷ size}`'s member `${prefix}-${n ÷ size}-${n mod size}`, of
   * `capacity` units (default: exclusive).
   */
  | {
      readonly op: "register";
      readonly prefix: string;
      readonly size: number;
      readonly capacity?: number;
    }
  /**
   * reserve one unit of a counted resource: call n takes resource
   * `${prefix}-0-${n mod resources}` for hour n ÷ (resources × perHour), so each resource gets
   * `perHour` calls for each hour (beyond its capacity, the last ones are ALREADY_EXISTS).
   */
  | {
      readonly op: "counted";
      readonly prefix: string;
      readonly resources: number;
      readonly perHour: number;
    }
  /** reserveAll of `items` resources of its own per call, one window: never a conflict. */
  | { readonly op: "group"; readonly prefix: string; readonly items: number }
  /** reserve the seed layout's row `from + n` (see {@link seedRow}): builds a data set. */
  | { readonly op: "seed"; readonly from: number }
  /** get one of `ids`, at random. */
  | { readonly op: "get"; readonly ids: readonly string[] }
  /** query ~`span` rows of one seeded resource, through to the end of the stream. */
  | { readonly op: "query-small"; readonly rows: number; readonly span: number };

/** A load run: closed loop (`concurrency` calls always in flight) or open loop (`rate`). */
export interface UnaryTask {
  readonly kind: "unary";
  readonly target: string;
  readonly call: UnaryOp;
  /** Closed loop: calls in flight. */
  readonly concurrency: number;
  /** Open loop: calls per second started on schedule, whatever the answers; latency counts from then. */
  readonly rate?: number;
  /** Stop after this many calls (for building data sets) instead of after the duration. */
  readonly count?: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly channels: number;
  /** Return the ids of the reservations acknowledged, for the correctness checks. */
  readonly collectIds?: boolean;
}

/** Streams one query to its end, timing the first row and the whole. */
export interface QueryTask {
  readonly kind: "query";
  readonly target: string;
  readonly resourceId: string;
}

/**
 * Opens `listeners` listen streams on the whole feed, or with `resourcePrefix` listener i on
 * resource `${resourcePrefix}-${i}` alone; answers once all are open. They share `channels`
 * HTTP/2 connections (default 1).
 */
export interface ListenOpenTask {
  readonly kind: "listen-open";
  readonly target: string;
  readonly listeners: number;
  readonly resourcePrefix?: string;
  readonly channels?: number;
}

/** Waits until every listener has seen every acked id (or the timeout), then closes them. */
export interface ListenCloseTask {
  readonly kind: "listen-close";
  readonly ackedIds: readonly string[];
  readonly timeoutMs: number;
}

/** Reads every live reservation over `query` and checks them (embedded mode has no SQL). */
export interface VerifyTask {
  readonly kind: "verify";
  readonly target: string;
  readonly ackedIds: readonly string[];
}

export type Task = UnaryTask | QueryTask | ListenOpenTask | ListenCloseTask | VerifyTask;

/** Latency figures in milliseconds. */
export interface Latency {
  readonly p50: number;
  readonly p99: number;
}

export interface UnaryResult extends Latency {
  readonly ok: number;
  /** Failed calls by gRPC status code. */
  readonly errors: Record<string, number>;
  readonly seconds: number;
  /** Successful calls per second in the measured window. */
  readonly rate: number;
  readonly ids?: string[];
}

export interface QueryResult {
  readonly rows: number;
  readonly firstRowMs: number;
  readonly totalMs: number;
}

export interface ListenResult extends Latency {
  readonly listeners: number;
  readonly events: number;
  /** Acked ids some listener never saw, summed over listeners (filtered: ids nobody saw). */
  readonly missing: number;
  /** Create events a listener saw more than once. */
  readonly duplicates: number;
  /** Create events for ids nobody acked, or (filtered) of another listener's resource. */
  readonly foreign: number;
  /** The slowest event's commit → listener, ms. */
  readonly maxMs: number;
}

export interface VerifyResult {
  readonly rows: number;
  /**
   * Rows that start where their resource holds more units than its capacity: on an exclusive
   * resource, rows that overlap an earlier one.
   */
  readonly overfilled: number;
  readonly missing: number;
}

/** Resources of the seed layout: row i is on resource `s-(i mod SEED_RESOURCES)`. */
export const SEED_RESOURCES = 10;

/** Row `i` of the seed layout: windows of one hour, back to back on each resource. */
export function seedRow(i: number): { resourceId: string; hour: number } {
  return { resourceId: `s-${i % SEED_RESOURCES}`, hour: Math.floor(i / SEED_RESOURCES) };
}

/** Resources per pool of the pool rows. */
export const POOL_SIZE = 8;
/** Items per reserveAll of the group rows, each on a resource of its own. */
export const GROUP_ITEMS = 3;

/** The first hour of every window the bench writes: 2030-01-01T00:00:00Z, in seconds. */
export const EPOCH_SECONDS = 1_893_456_000;
