import { readdirSync, readFileSync } from "node:fs";

// Linux reports CPU time in clock ticks of USER_HZ, which is 100 on every common platform.
const HZ = 100;

/** utime+stime (and, with `reaped`, the CPU of its waited-for children) of a process. */
function ticks(pid: number, reaped = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15,
    // cutime 16, cstime 17.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const own = Number(f[11]) + Number(f[12]);
    return reaped ? own + Number(f[13]) + Number(f[14]) : own;
  } catch {
    return Number.NaN;
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // It exited while we looked.
    }
  }
  return out;
}

/** Something whose CPU time can be read: a process, or a whole Postgres cluster. */
export interface CpuSource {
  readonly name: string;
  /** CPU seconds consumed so far. */
  seconds(): number;
}

/** One process. */
export const processCpu = (name: string, pid: number): CpuSource => ({
  name,
  seconds: () => ticks(pid) / HZ,
});

/**
 * A Postgres cluster: the postmaster, its live backends, and every backend it has reaped, so
 * that pgbench's short-lived connections are counted too.
 */
export const clusterCpu = (name: string, postmasterPid: number): CpuSource => ({
  name,
  // A backend that exits between listing and reading counts as 0 here and is not lost: its
  // time moves into the postmaster's reaped-children total.
  seconds: () =>
    childrenOf(postmasterPid).reduce(
      (sum, pid) => sum + (ticks(pid) || 0),
      ticks(postmasterPid, true),
    ) / HZ,
});

/** Nanoseconds a process has run, from /proc/PID/schedstat (ticks are 10 ms: too coarse idle). */
function runNs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]);
  } catch {
    return 0;
  }
}

/**
 * A Postgres cluster's live processes to the nanosecond, for an idle server's few milliseconds
 * a second. Backends that exit meanwhile are not counted: measure where none do.
 */
export const idleClusterCpu = (name: string, postmasterPid: number): CpuSource => ({
  name,
  seconds: () =>
    childrenOf(postmasterPid).reduce((sum, pid) => sum + runNs(pid), runNs(postmasterPid)) / 1e9,
});

/** Every process on the machine: busy time from /proc/stat (all but idle and iowait). */
export const machineCpu = (name: string): CpuSource => ({
  name,
  seconds: () => {
    try {
      const [, ...fields] = readFileSync("/proc/stat", "utf8").split("\n")[0]?.split(/\s+/) ?? [];
      const t = fields.map(Number);
      const total = t.slice(0, 8).reduce((a, b) => a + b, 0);
      return (total - (t[3] ?? 0) - (t[4] ?? 0)) / HZ;
    } catch {
      return Number.NaN;
    }
  },
});

/** Runs `fn` and reports the cores each named group used meanwhile (CPU s ÷ wall s). */
export async function withCpu<T>(
  sources: readonly CpuSource[],
  fn: () => Promise<T>,
): Promise<[T, Record<string, number>]> {
  const before = sources.map((s) => s.seconds());
  const t0 = performance.now();
  const result = await fn();
  const wall = (performance.now() - t0) / 1000;
  const cores: Record<string, number> = {};
  sources.forEach((s, i) => {
    cores[s.name] = (cores[s.name] ?? 0) + (s.seconds() - (before[i] ?? Number.NaN)) / wall;
  });
  return [result, cores];
}
