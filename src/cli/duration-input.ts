import type { Micros } from "../domain/reservation.js";

const UNIT: Record<string, bigint> = {
  d: 86_400_000_000n,
  h: 3_600_000_000n,
  m: 60_000_000n,
  s: 1_000_000n,
};

const DURATION = /^(?:\d+[dhms])+$/;

/** `90m`, `1h30m`, `2d`, `45s` as microseconds; undefined when `text` is not one (or is zero). */
export function parseDuration(text: string): Micros | undefined {
  const t = text.trim().toLowerCase();
  if (!DURATION.test(t)) return undefined;
  let sum = 0n;
  for (const [, n = "0", u = "s"] of t.matchAll(/(\d+)([dhms])/g))
    sum += BigInt(n) * (UNIT[u] ?? 0n);
  return sum > 0n ? sum : undefined;
}

/** `1h30m`, `45m`, `2d`: a length for people, in whole minutes. */
export function formatDuration(us: Micros): string {
  const minutes = us / 60_000_000n;
  const d = minutes / 1440n;
  const h = (minutes % 1440n) / 60n;
  const m = minutes % 60n;
  const parts = [d > 0n ? `${d}d` : "", h > 0n ? `${h}h` : "", m > 0n ? `${m}m` : ""].join("");
  return parts || "0m";
}
