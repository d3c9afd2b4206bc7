import { build, type Histogram } from "hdr-histogram-js";

/** A latency histogram in microseconds (HDR: 3 significant digits at any magnitude). */
export const histogram = (): Histogram => build({ numberOfSignificantValueDigits: 3 });

/** p50 and p99 in milliseconds of a histogram in microseconds; NaN when it is empty. */
export function percentiles(h: Histogram): { p50: number; p99: number } {
  if (h.totalCount === 0) return { p50: Number.NaN, p99: Number.NaN };
  return { p50: h.getValueAtPercentile(50) / 1000, p99: h.getValueAtPercentile(99) / 1000 };
}

/** The median of the finite values (the mean of the middle two of an even count); NaN when none. */
export function median(values: readonly number[]): number {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const mid = s.length / 2;
  return s.length % 2
    ? (s[Math.floor(mid)] ?? Number.NaN)
    : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

/** One repeat's figures: always a rate and latencies, plus whatever the scenario adds. */
export type Sample = { readonly rate: number; readonly p50: number; readonly p99: number } & Record<
  string,
  number
>;

/** A correctness check's outcome. */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** Collects every repeat of every scenario and every check of a run. */
export class Recorder {
  private readonly samples = new Map<string, Sample[]>();
  readonly checks: Check[] = [];

  add(key: string, sample: Sample): void {
    const list = this.samples.get(key) ?? [];
    list.push(sample);
    this.samples.set(key, list);
  }

  has(key: string): boolean {
    return this.samples.has(key);
  }

  all(key: string): readonly Sample[] {
    return this.samples.get(key) ?? [];
  }

  /** The per-field median over the repeats of `key` (each field on its own). */
  median(key: string): Sample {
    const list = this.all(key);
    const fields = new Set(list.flatMap((s) => Object.keys(s)));
    const out: Record<string, number> = { rate: Number.NaN, p50: Number.NaN, p99: Number.NaN };
    for (const f of fields) out[f] = median(list.map((s) => s[f] ?? Number.NaN));
    return out as Sample;
  }

  /** Records a check; `ok` is whether it held. */
  check(name: string, ok: boolean, detail: string): void {
    this.checks.push({ name, ok, detail });
    if (!ok) process.stderr.write(`CHECK FAILED: ${name}: ${detail}\n`);
  }
}
