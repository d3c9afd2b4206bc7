import { setTimeout as sleep } from "node:timers/promises";
import { makeCaller } from "./load-calls.js";
import { latency, Samples } from "./stats.js";
import type { UnaryResult, UnaryTask } from "./tasks.js";

// A clash is an exact answer, not a failure: contention runs count it as served.
const ALREADY_EXISTS = 6;

const codeOf = (err: unknown) => String((err as { code?: unknown })?.code ?? "unknown");

/**
 * Runs one load: a warm-up, then a measured window. Closed loop keeps `concurrency` calls in
 * flight; open loop starts `rate` calls per second on a fixed schedule and times each from its
 * scheduled start, so a stall shows up as latency instead of as fewer calls.
 */
export async function runUnary(task: UnaryTask): Promise<UnaryResult> {
  const caller = makeCaller(task.target, task.call, task.channels, task.client);
  const lat = new Samples();
  const errors: Record<string, number> = {};
  const ids: string[] = [];
  const limit = task.count ?? Number.POSITIVE_INFINITY;
  const t0 = performance.now();
  const from = task.count === undefined ? t0 + task.warmupMs : t0;
  const until = task.count === undefined ? from + task.durationMs : Number.POSITIVE_INFINITY;
  let n = 0;
  let ok = 0;
  let served = 0;
  let late = 0;

  const one = async (startedAt: number) => {
    let answered = true;
    try {
      const id = await caller.call(n++);
      ok++;
      if (id !== undefined && task.collectIds) ids.push(id);
    } catch (err) {
      const code = codeOf(err);
      errors[code] = (errors[code] ?? 0) + 1;
      answered = code === String(ALREADY_EXISTS);
    }
    const done = performance.now();
    if (answered && done >= from && done <= until) {
      served++;
      lat.push(done - startedAt);
    }
  };

  try {
    if (task.rate === undefined) {
      const worker = async () => {
        while (n < limit && performance.now() < until) await one(performance.now());
      };
      await Promise.all(Array.from({ length: task.concurrency }, worker));
    } else {
      const interval = 1000 / task.rate;
      const inFlight = new Set<Promise<void>>();
      let k = 0;
      for (let now = performance.now(); now < until; now = performance.now()) {
        for (const due = Math.floor((now - t0) / interval); k < due; k++) {
          if (inFlight.size >= task.concurrency) {
            if (now >= from) late++;
            continue;
          }
          const p = one(t0 + k * interval).finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
        await sleep(1);
      }
      await Promise.all(inFlight);
    }
  } finally {
    caller.close();
  }
  const end = Math.min(performance.now(), until);
  const seconds = (end - from) / 1000;
  return {
    ok,
    errors,
    seconds,
    rate: served / seconds,
    ...latency(lat.values()),
    ...(task.collectIds ? { ids } : {}),
    ...(task.rate === undefined ? {} : { late }),
  };
}
