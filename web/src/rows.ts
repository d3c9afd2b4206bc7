/** One timeline row: a resource, and the group (pool) it is listed under, if any. */
export interface Row {
  readonly resource: string;
  readonly group: string;
}

/**
 * Somewhere rows come from: the resources with loaded bookings, the ones this browser added,
 * and the resource catalog, which gives each row its pool as the group. A source calls
 * `changed` whenever its rows differ.
 */
export interface RowSource {
  rows(): Iterable<Row>;
  subscribe(changed: () => void): void;
}

const collator = new Intl.Collator(undefined, { numeric: true });

/** The key two spellings of one resource share: `Room 2`, `room-2` and `ROOM_2` are alike. */
const looseKey = (name: string) => name.toLowerCase().replace(/[^\p{L}\p{N}]/gu, "");

/**
 * Every row the timeline shows: the union of its sources, by group then natural name (room-2
 * before room-10), the ungrouped last. A resource named by several sources is one row; a
 * grouped entry wins.
 */
export class RowModel {
  private list: Row[] = [];
  private readonly listeners: Array<() => void> = [];

  constructor(private readonly sources: readonly RowSource[]) {
    for (const source of sources) source.subscribe(() => this.refresh());
    this.refresh();
  }

  /** The rows in display order. */
  rows(): readonly Row[] {
    return this.list;
  }

  /** Calls `listener` whenever the rows change. */
  subscribe(listener: () => void): void {
    this.listeners.push(listener);
  }

  /**
   * The existing resource `typed` most likely means (`Room 2` for `room-2`), or undefined when
   * it names a known one exactly or none at all.
   */
  likelyMeant(typed: string): string | undefined {
    const key = looseKey(typed);
    const match = this.list.find((r) => r.resource !== typed && looseKey(r.resource) === key);
    return this.list.some((r) => r.resource === typed) ? undefined : match?.resource;
  }

  private refresh() {
    const byName = new Map<string, Row>();
    for (const source of this.sources) {
      for (const row of source.rows()) {
        const known = byName.get(row.resource);
        if (!known || (!known.group && row.group)) byName.set(row.resource, row);
      }
    }
    const next = [...byName.values()].sort(
      (a, b) =>
        Number(!a.group) - Number(!b.group) ||
        collator.compare(a.group, b.group) ||
        collator.compare(a.resource, b.resource),
    );
    const same =
      next.length === this.list.length &&
      next.every(
        (r, i) => r.resource === this.list[i]?.resource && r.group === this.list[i]?.group,
      );
    if (same) return;
    this.list = next;
    for (const listener of this.listeners) listener();
  }
}

/** The resources this browser added by hand (kept in its settings). */
export class PinnedRows implements RowSource {
  private readonly listeners: Array<() => void> = [];

  constructor(
    private names: string[],
    private readonly save: (names: string[]) => void,
  ) {}

  rows(): Iterable<Row> {
    return this.names.map((resource) => ({ resource, group: "" }));
  }

  subscribe(changed: () => void): void {
    this.listeners.push(changed);
  }

  has(name: string): boolean {
    return this.names.includes(name);
  }

  add(name: string): void {
    if (this.has(name)) return;
    this.names = [...this.names, name];
    this.changed();
  }

  remove(name: string): void {
    this.names = this.names.filter((n) => n !== name);
    this.changed();
  }

  private changed() {
    this.save(this.names);
    for (const listener of this.listeners) listener();
  }
}
