import { setTimeout as sleep } from "node:timers/promises";
import { type Ctx, checkNoFailures, runTimeout, sampleOf, unaryTask } from "./context.js";
import { processCpu, withCpu } from "./cpu.js";
import type { Loader } from "./loader.js";
import { rssMiB } from "./processes.js";
import type { ListenResult, UnaryResult } from "./tasks.js";

/** How a listen round differs from the main phase's (100 listeners on the whole feed). */
export interface ListenShape {
  readonly listeners?: number;
  /** Each listener on a resource of its own, the reserves spread over those resources. */
  readonly filtered?: boolean;
  /** HTTP/2 connections the listeners share. */
  readonly channels?: number;
  readonly durationMs?: number;
  /** Runs once the writes are done, before waiting for their events (ends a held transaction). */
  readonly afterLoad?: () => Promise<void>;
}

/**
 * Listeners (a load generator of their own) while reserve runs at `rate` (or flat out):
 * commit→listener latency, CPU per delivered event, the service's RSS per open listener, and
 * every acked create must be heard exactly once by every listener it matches.
 */
export async function listenRound(
  ctx: Ctx,
  listenLoader: Loader,
  key: string,
  prefix: string,
  rate?: number,
  shape: ListenShape = {},
): Promise<{ deliveredPerListener: number }> {
  const { opts } = ctx;
  const listeners = shape.listeners ?? opts.listeners;
  const rssBefore = rssMiB(ctx.service.pid);
  await listenLoader.run(
    {
      kind: "listen-open",
      target: ctx.service.address,
      listeners,
      ...(shape.filtered ? { resourcePrefix: prefix } : {}),
      ...(shape.channels ? { channels: shape.channels } : {}),
    },
    120_000,
  );
  // `opened` means the server accepted the call; give each subscription a moment to register
  // before the first write, so "from now on" includes it.
  await sleep(200);
  const rssPerListenerKiB = ((rssMiB(ctx.service.pid) - rssBefore) * 1024) / listeners;
  const extra = rate === undefined ? {} : { rate };
  const call = { op: "reserve", prefix, ...(shape.filtered ? { spread: listeners } : {}) } as const;
  const durationMs = shape.durationMs ?? opts.durationMs;
  const task = unaryTask(ctx, call, { collectIds: true, durationMs, ...extra });
  // CPU counts until the last event is delivered: the close waits for it.
  const t0 = performance.now();
  const [[load, heard], cores] = await withCpu(
    [
      processCpu("cpu.svc", ctx.service.pid),
      processCpu("cpu.gen", ctx.loader.pid),
      processCpu("cpu.gen", listenLoader.pid),
      ...(ctx.dbCpu ? [ctx.dbCpu] : []),
    ],
    async () => {
      const r = await ctx.loader.run<UnaryResult>(task, runTimeout(opts) + durationMs);
      await shape.afterLoad?.();
      const h = await listenLoader.run<ListenResult>(
        { kind: "listen-close", ackedIds: r.ids ?? [], timeoutMs: 30_000 },
        90_000,
      );
      return [r, h] as const;
    },
  );
  checkNoFailures(ctx, `${key} ${prefix}`, load);
  const ids = load.ids ?? [];
  const wrong = shape.filtered ? heard.foreign : 0;
  ctx.rec.check(
    `${key} ${prefix}: every listener heard every create it matches exactly once`,
    heard.missing === 0 && heard.duplicates === 0 && wrong === 0,
    `${heard.missing} missed, ${heard.duplicates} duplicated, ${wrong} of another resource over ${heard.listeners} listeners × ${ids.length} creates`,
  );
  // Per delivered event: the rate is events over the whole run, as the cores are.
  const seconds = (performance.now() - t0) / 1000;
  ctx.rec.add(
    key,
    sampleOf({ rate: heard.events / seconds, p50: heard.p50, p99: heard.p99 }, cores, {
      reserveRate: load.rate,
      reserveP99: load.p99,
      events: heard.events,
      foreign: heard.foreign,
      maxMs: heard.maxMs,
      listeners,
      rssPerListenerKiB,
    }),
  );
  await ctx.verify.afterRun(`${key} ${prefix}`, ids, `${prefix}-`);
  return { deliveredPerListener: heard.events / seconds / listeners };
}
