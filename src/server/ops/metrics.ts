import { status } from "@grpc/grpc-js";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { ChangeFeed } from "../feed/change-feed.js";
import { type HttpRoute, isGet } from "../transport/http-route.js";

/** One finished rpc, as the metrics see it. */
export interface RpcRecord {
  readonly service: string;
  readonly method: string;
  /** "unary", "server_stream", "client_stream" or "bidi_stream", as go-grpc-prometheus. */
  readonly type: string;
  /** "grpc" (either port), "grpc-web" or "connect". */
  readonly protocol: string;
  readonly code: number;
  readonly seconds: number;
}

/** The rpcs of one label set counted since the counters were last read. */
interface RpcTally {
  readonly labels: Record<"grpc_service" | "grpc_method" | "grpc_type" | "protocol", string>;
  started: number;
  /** By status code. */
  readonly handled: Map<number, number>;
}

/** The service's Prometheus metrics: one registry per running app. */
export interface Metrics {
  readonly registry: Registry;
  /** Counts a started rpc. */
  started(service: string, method: string, type: string, protocol: string): void;
  /** Counts a finished rpc: its code and latency. */
  finished(rpc: RpcRecord): void;
  /** Counts reservations made, by any way of reserving (reserve, pools, groups, series). */
  booked(count: number): void;
  /** Counts a reserving call refused because a window was taken. */
  clashed(): void;
  /** Database operations (queries and transactions) holding or waiting for a connection. */
  readonly dbInFlight: Gauge;
  /** Reports the change feed's listeners and lag from now on. */
  trackFeed(feed: ChangeFeed): void;
}

/** The gRPC code name Prometheus dashboards expect ("OK", "ALREADY_EXISTS"). */
export function codeName(code: number): string {
  return status[code] ?? String(code);
}

/** Creates the metrics of one app, process metrics included. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const rpcLabels = ["grpc_service", "grpc_method", "grpc_type", "protocol"] as const;
  // Each rpc counts into a tally of its own label set, added to the counters when they are
  // read: a prom-client counter's inc (label check, hash, lookup) cost 2.5 µs a call, more
  // than the rest of observing one. The counts read are exact at every scrape.
  const tallies = new Map<string, RpcTally>();
  const tallyOf = (service: string, method: string, type: string, protocol: string) => {
    const key = `${protocol} ${type} ${service}/${method}`;
    let t = tallies.get(key);
    if (!t) {
      const labels = { grpc_service: service, grpc_method: method, grpc_type: type, protocol };
      t = { labels, started: 0, handled: new Map() };
      tallies.set(key, t);
    }
    return t;
  };
  new Counter({
    name: "grpc_server_started_total",
    help: "RPCs started on the server.",
    labelNames: rpcLabels,
    registers,
    collect() {
      for (const t of tallies.values()) {
        if (t.started === 0) continue;
        this.inc(t.labels, t.started);
        t.started = 0;
      }
    },
  });
  new Counter({
    name: "grpc_server_handled_total",
    help: "RPCs completed on the server, by status code.",
    labelNames: [...rpcLabels, "grpc_code"],
    registers,
    collect() {
      for (const t of tallies.values()) {
        for (const [code, n] of t.handled) {
          if (n === 0) continue;
          this.inc({ ...t.labels, grpc_code: codeName(code) }, n);
          t.handled.set(code, 0);
        }
      }
    },
  });
  const latency = new Histogram({
    name: "grpc_server_handling_seconds",
    help: "Time from an RPC's start to its status (streams: their whole life).",
    labelNames: rpcLabels,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const created = new Counter({
    name: "rsvp_reservations_created_total",
    help: "Reservations made by reserve, reserveAll and reserveSeries (a retried key counts again).",
    registers,
  });
  const conflicted = new Counter({
    name: "rsvp_reservations_conflicted_total",
    help: "Reserving calls (reserve, reserveAll, reserveSeries) refused because a window was taken.",
    registers,
  });
  const dbInFlight = new Gauge({
    name: "rsvp_db_operations_in_flight",
    help: "Database queries and transactions holding or waiting for a pooled connection.",
    registers,
  });
  return {
    registry,
    dbInFlight,
    started(service, method, type, protocol) {
      tallyOf(service, method, type, protocol).started++;
    },
    finished(rpc) {
      const t = tallyOf(rpc.service, rpc.method, rpc.type, rpc.protocol);
      t.handled.set(rpc.code, (t.handled.get(rpc.code) ?? 0) + 1);
      latency.observe(t.labels, rpc.seconds);
    },
    booked: (count) => created.inc(count),
    clashed: () => conflicted.inc(),
    trackFeed(feed) {
      new Gauge({
        name: "rsvp_listeners_open",
        help: "listen streams open on this process.",
        registers,
        collect() {
          this.set(feed.listeners);
        },
      });
      new Gauge({
        name: "rsvp_change_feed_lag_seconds",
        help: "From the newest delivered change's commit to its delivery, last seen.",
        registers,
        collect() {
          this.set(feed.lagMs / 1000);
        },
      });
    },
  };
}

/** `GET /metrics` in the Prometheus text format. */
export function metricsRoute(metrics: Metrics): HttpRoute {
  return async (req, res) => {
    if (!isGet(req, "/metrics")) return false;
    const body = await metrics.registry.metrics();
    res.writeHead(200, { "content-type": metrics.registry.contentType });
    if (req.method === "HEAD") res.end();
    else res.end(body);
    return true;
  };
}
