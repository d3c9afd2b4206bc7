import { durationMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Catalog } from "./api.js";
import type { Row, RowSource } from "./rows.js";

/** Time a resource keeps free before and after each reservation, in milliseconds. */
export interface Buffers {
  readonly before: number;
  readonly after: number;
}

const NONE: Buffers = { before: 0, after: 0 };

/** Codes that mean "no catalog for this caller": the page then works as it did before one. */
const WITHOUT_CATALOG = new Set([Code.PermissionDenied, Code.Unimplemented, Code.Unauthenticated]);

interface Entry {
  readonly pool: string;
  readonly buffers: Buffers;
  readonly capacity: number;
}

/**
 * The resource catalog (`ListResources`, every page) as a row source: every registered resource
 * gets a row, empty or not, grouped by its pool. It also knows each resource's buffers and capacity, and which
 * names are pools. A service without a catalog, or one that will not show it to this caller,
 * leaves it empty.
 */
export class CatalogRows implements RowSource {
  private entries = new Map<string, Entry>();
  private readonly listeners: Array<() => void> = [];
  private loading: Promise<void> | undefined;
  /** The service has no catalog for this caller: reading it again tells nothing new. */
  private absent = false;

  constructor(private readonly client: Catalog) {}

  rows(): Iterable<Row> {
    return [...this.entries].map(([resource, e]) => ({ resource, group: e.pool }));
  }

  subscribe(changed: () => void): void {
    this.listeners.push(changed);
  }

  /** A registered resource's buffers; none for any other. */
  buffers(resource: string): Buffers {
    return this.entries.get(resource)?.buffers ?? NONE;
  }

  /** A registered resource's capacity: above 1 for a counted one; 1 for any other. */
  capacity(resource: string): number {
    return Math.max(1, this.entries.get(resource)?.capacity ?? 1);
  }

  /** Whether `name` is a pool of the catalog (and not a resource's own id). */
  isPool(name: string): boolean {
    if (this.entries.has(name)) return false;
    for (const e of this.entries.values()) if (e.pool === name) return true;
    return false;
  }

  /** The catalog's pools, by name. */
  pools(): string[] {
    return [...new Set([...this.entries.values()].map((e) => e.pool).filter(Boolean))].sort();
  }

  /** Reads the catalog again unless the service has none for this caller (a poll's check). */
  refresh(): Promise<void> {
    return this.absent ? Promise.resolve() : this.load();
  }

  /** Reads the whole catalog again (one load at a time); failures leave the last one shown. */
  load(): Promise<void> {
    this.loading ??= this.read().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async read() {
    const next = new Map<string, Entry>();
    let pageToken = "";
    try {
      do {
        // 100 a page: a big catalog takes a few small answers rather than one large one.
        const page = await this.client.listResources({ pageSize: 100, pageToken });
        for (const r of page.resources) {
          const buffers = {
            before: r.bufferBefore ? durationMs(r.bufferBefore) : 0,
            after: r.bufferAfter ? durationMs(r.bufferAfter) : 0,
          };
          next.set(r.id, { pool: r.pool, buffers, capacity: r.capacity });
        }
        pageToken = page.nextPageToken;
      } while (pageToken);
    } catch (err) {
      // No catalog here (an older service, or a caller it is not shown to): rows come from
      // bookings and this browser's list alone, as before the catalog existed.
      this.absent = WITHOUT_CATALOG.has(ConnectError.from(err).code);
      if (this.absent) this.replace(new Map());
      return; // anything else (the network) keeps the catalog last read
    }
    this.absent = false;
    this.replace(next);
  }

  private replace(next: Map<string, Entry>) {
    const same =
      next.size === this.entries.size &&
      [...next].every(([id, e]) => {
        const old = this.entries.get(id);
        return (
          old?.pool === e.pool &&
          old.capacity === e.capacity &&
          old.buffers.before === e.buffers.before &&
          old.buffers.after === e.buffers.after
        );
      });
    this.entries = next;
    if (!same) for (const listener of this.listeners) listener();
  }
}
