import postgres from "postgres";
import { BARE_TABLE_DDL } from "./baselines.js";
import type { Verifier } from "./context.js";
import type { Recorder } from "./recorder.js";
import { SEED_RESOURCES } from "./tasks.js";

/**
 * The bench's own SQL on one database: the bare baseline table, bulk seeding, and the
 * correctness checks. It talks to the database directly, never through the service.
 */
export class BenchDb {
  private readonly sql: postgres.Sql;

  constructor(readonly url: string) {
    this.sql = postgres(url, { max: 2, onnotice: () => {} });
  }

  /** Creates the bare baseline table (see BARE_TABLE_DDL). */
  async createBareTable(): Promise<void> {
    await this.sql.unsafe(BARE_TABLE_DDL);
  }

  /**
   * Bulk-loads rows [from, to) of the seed layout (see seedRow in tasks.ts) straight into
   * rsvp.reservations. Seeding is set-up, not measurement: as superuser it skips the change-log
   * triggers (replica role) so the feed does not replay a million rows.
   */
  async seed(from: number, to: number): Promise<void> {
    const chunk = 250_000;
    for (let lo = from; lo < to; lo += chunk) {
      const hi = Math.min(to, lo + chunk);
      await this.sql.begin(async (tx) => {
        // Not a superuser (DATABASE_URL): the triggers run, which is only slower.
        await tx
          .savepoint((sp) => sp.unsafe("SET LOCAL session_replication_role = replica"))
          .catch(() => {});
        await tx.unsafe(
          `INSERT INTO rsvp.reservations (user_id, resource_id, status, timespan, note)
           SELECT 'seed', 's-' || (i % ${SEED_RESOURCES}), 'confirmed',
                  tstzrange(t0 + (i / ${SEED_RESOURCES}) * interval '1 hour',
                            t0 + (i / ${SEED_RESOURCES} + 1) * interval '1 hour', '[)'), ''
             FROM generate_series($1::bigint, $2::bigint - 1) AS i,
                  (SELECT timestamptz '2030-01-01T00:00:00Z' AS t0) AS c`,
          [lo, hi],
        );
      });
    }
    // VACUUM sets the visibility map and the row count, as autovacuum soon would after a bulk
    // load. No ANALYZE, here or before any round: no plan may depend on fresh statistics.
    await this.sql.unsafe("VACUUM rsvp.reservations");
  }

  /**
   * Adds `rows` changes to the change log as if written a day ago, below every live
   * transaction id ('3'), so the feed never delivers them; within retention, so not pruned.
   */
  async insertHistory(rows: number): Promise<void> {
    await this.sql`INSERT INTO rsvp.reservation_changes
                     (xid, op, id, user_id, status, resource_id, timespan, note, created_at,
                      updated_at, committed_at)
                   SELECT '3'::xid8, 'create', gen_random_uuid(), 'old', 'confirmed', 'old',
                          tstzrange(now(), now() + interval '1 hour'), '', now(), now(),
                          now() - interval '1 day'
                     FROM generate_series(1, ${rows}::int)`;
    await this.sql.unsafe("VACUUM rsvp.reservation_changes");
  }

  async count(): Promise<number> {
    const [row] = await this.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM rsvp.reservations`;
    return row?.n ?? 0;
  }

  /** Up to `n` random ids of seeded rows. */
  async sampleIds(n: number): Promise<string[]> {
    const rows = await this.sql<{ id: string }[]>`
      SELECT id::text FROM rsvp.reservations WHERE user_id = 'seed' ORDER BY random() LIMIT ${n}`;
    return rows.map((r) => r.id);
  }

  /**
   * Live rows of exclusive resources that overlap the row before them on their resource (by
   * start); must be 0. Two rows of a resource overlap only if some row overlaps its
   * predecessor, so 0 means none do. It compares what the rows occupy (windows widened by
   * buffers), which contains the windows: one sort, where a pairwise join probed every row
   * against its whole resource (57 s at 50k). Rows of counted resources may overlap: see
   * {@link overfilled}.
   */
  async overlaps(resourcePrefix?: string): Promise<number> {
    const like = resourcePrefix === undefined ? "%" : `${resourcePrefix}%`;
    const [row] = await this.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM (
        SELECT lower(occupied) AS lo,
               lag(upper(occupied)) OVER (PARTITION BY resource_id ORDER BY lower(occupied)) AS prev
          FROM rsvp.reservations
         WHERE status <> 'cancelled' AND exclusive AND resource_id LIKE ${like}) AS s
       WHERE s.prev > s.lo`;
    return row?.n ?? 0;
  }

  /**
   * Live rows of counted resources that start where their resource has more units in use than
   * its capacity; must be 0. One sort of the start and end events per resource, ends before
   * starts at one instant (windows are half-open), the units in use summed as it goes.
   */
  async overfilled(resourcePrefix?: string): Promise<number> {
    const like = resourcePrefix === undefined ? "%" : `${resourcePrefix}%`;
    const [row] = await this.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM (
        SELECT e.resource_id, e.d,
               sum(e.d) OVER (PARTITION BY e.resource_id ORDER BY e.t, e.d ROWS UNBOUNDED PRECEDING)
                 AS used
          FROM (SELECT resource_id, lower(occupied) AS t, quantity AS d FROM rsvp.reservations
                 WHERE status <> 'cancelled' AND exclusive IS NULL AND resource_id LIKE ${like}
                UNION ALL
                SELECT resource_id, upper(occupied), -quantity FROM rsvp.reservations
                 WHERE status <> 'cancelled' AND exclusive IS NULL AND resource_id LIKE ${like}) AS e
      ) AS s JOIN rsvp.resources AS r ON r.id = s.resource_id
       WHERE s.d > 0 AND s.used > greatest(r.capacity, 1)`;
    return row?.n ?? 0;
  }

  /** How many of the acked ids are not live rows; must be 0. */
  async missing(ids: readonly string[]): Promise<number> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return 0;
    const [row] = await this.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM rsvp.reservations
       WHERE id = ANY(${unique}::uuid[]) AND status <> 'cancelled'`;
    return unique.length - (row?.n ?? 0);
  }

  close(): Promise<void> {
    return this.sql.end({ timeout: 5 });
  }
}

/** Checks in SQL, straight on the database (Postgres mode). */
export function sqlVerifier(db: BenchDb, rec: Recorder): Verifier {
  return {
    async afterRun(name, ids, prefix) {
      const missing = await db.missing(ids);
      rec.check(
        `${name}: every acked reservation exists`,
        missing === 0,
        `${missing} of ${ids.length} missing`,
      );
      const overlaps = await db.overlaps(prefix);
      rec.check(
        `${name}: no overlapping live rows`,
        overlaps === 0,
        `${overlaps} rows overlap their predecessor`,
      );
      const overfilled = await db.overfilled(prefix);
      rec.check(
        `${name}: no resource over its capacity`,
        overfilled === 0,
        `${overfilled} rows start where their resource is over its capacity`,
      );
    },
    async finish(name) {
      const overlaps = await db.overlaps();
      const overfilled = await db.overfilled();
      const rows = await db.count();
      rec.check(
        `${name}: no overlapping live rows in the whole table`,
        overlaps === 0,
        `${overlaps} of ${rows} rows overlap their predecessor`,
      );
      rec.check(
        `${name}: no resource over its capacity in the whole table`,
        overfilled === 0,
        `${overfilled} of ${rows} rows start where their resource is over its capacity`,
      );
    },
  };
}
