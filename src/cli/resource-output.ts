import type { Duration } from "@bufbuild/protobuf/wkt";
import type { Quota, Resource } from "../gen/reservation/resource_pb.js";
import type { ClientOptions } from "./client-command.js";
import { formatTable } from "./format.js";
import { printJson, printLines } from "./output.js";
import { quotaPeriodName } from "./resource-quota.js";

/**
 * "1h30m", "2d", "45s"; "-" when unset. Not duration-input's formatDuration: that one rounds
 * to whole minutes, and a 45-second buffer must not read as "0m".
 */
function formatDuration(d: Duration | undefined): string {
  if (!d) return "-";
  let s = d.seconds;
  if (s === 0n) return "0";
  const out: string[] = [];
  for (const [unit, size] of [
    ["d", 86_400n],
    ["h", 3_600n],
    ["m", 60n],
    ["s", 1n],
  ] as const) {
    if (s >= size) {
      out.push(`${s / size}${unit}`);
      s %= size;
    }
  }
  return out.join("");
}

/** "2 times, 4h a day per pool"; "-" without a quota or one that limits nothing. */
function describeQuota(q: Quota | undefined): string {
  const period = quotaPeriodName(q);
  if (!q || !period) return "-";
  const limits = [
    ...(q.maxReservations > 0
      ? [`${q.maxReservations} ${q.maxReservations === 1 ? "time" : "times"}`]
      : []),
    ...(q.maxTime ? [formatDuration(q.maxTime)] : []),
  ];
  if (limits.length === 0) return "-";
  return `${limits.join(", ")} a ${period}${q.perPool ? " per pool" : ""}`;
}

const COLUMNS = ["ID", "POOL", "TIME ZONE", "BUFFERS", "RULES", "CAPACITY", "QUOTA", "NOTE"];

function cells(r: Resource): string[] {
  const rules = r.rules;
  const set = [
    ["min", rules?.minDuration],
    ["max", rules?.maxDuration],
    ["notice", rules?.minNotice],
    ["advance", rules?.maxAdvance],
    ["no-show", rules?.releaseAfter],
    ["check-in", rules?.checkInOpens],
  ] as const;
  const described = set.filter(([, d]) => d).map(([name, d]) => `${name} ${formatDuration(d)}`);
  if (r.approval) described.push("approval");
  return [
    r.id,
    r.pool || "-",
    r.timeZone,
    `${formatDuration(r.bufferBefore)} / ${formatDuration(r.bufferAfter)}`,
    described.join(", ") || "-",
    r.capacity > 1 ? String(r.capacity) : "exclusive",
    describeQuota(rules?.quota),
    r.note,
  ];
}

function quotaJson(q: Quota | undefined) {
  const period = quotaPeriodName(q);
  if (!q || !period) return null;
  return {
    period,
    maxReservations: q.maxReservations,
    maxTime: q.maxTime ? formatDuration(q.maxTime) : null,
    perPool: q.perPool,
  };
}

const json = (r: Resource) => ({
  id: r.id,
  pool: r.pool,
  timeZone: r.timeZone,
  bufferBefore: formatDuration(r.bufferBefore),
  bufferAfter: formatDuration(r.bufferAfter),
  minDuration: r.rules?.minDuration ? formatDuration(r.rules.minDuration) : null,
  maxDuration: r.rules?.maxDuration ? formatDuration(r.rules.maxDuration) : null,
  minNotice: r.rules?.minNotice ? formatDuration(r.rules.minNotice) : null,
  maxAdvance: r.rules?.maxAdvance ? formatDuration(r.rules.maxAdvance) : null,
  capacity: r.capacity,
  quota: quotaJson(r.rules?.quota),
  note: r.note,
  ...(r.rules?.releaseAfter ? { releaseAfter: formatDuration(r.rules.releaseAfter) } : {}),
  ...(r.rules?.checkInOpens ? { checkInOpens: formatDuration(r.rules.checkInOpens) } : {}),
  ...(r.approval ? { approval: true } : {}),
});

/** Resources as a table, one JSON object per line, or one id per line. */
export function printResources(list: readonly Resource[], output: ClientOptions["output"]): void {
  if (output === "id") printLines(list.map((r) => r.id));
  else if (output === "json") for (const r of list) printJson(json(r));
  else printLines(formatTable(COLUMNS, list.map(cells)));
}
