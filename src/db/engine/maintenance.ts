import type { Queryable } from "./db.js";

/** What one round did: the tables it analyzed and the ones it vacuumed (and analyzed). */
export interface MaintenanceRound {
  readonly analyzed: string[];
  readonly vacuumed: string[];
}

// autovacuum's default thresholds: a table is analyzed after 50 + 10 % of its rows changed,
// vacuumed after 50 + 20 % of them died.
const DUE_SQL = `
  SELECT format('%I.%I', s.schemaname, s.relname) AS name,
         s.n_dead_tup > 50 + 0.2 * greatest(c.reltuples, 0) AS vacuum
    FROM pg_stat_user_tables AS s JOIN pg_class AS c ON c.oid = s.relid
   WHERE s.schemaname = 'rsvp'
     AND (s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)
          OR s.n_dead_tup > 50 + 0.2 * greatest(c.reltuples, 0))
   ORDER BY 1`;

/**
 * Does what autovacuum would for rsvp's tables, once: ANALYZE the tables whose rows changed
 * enough, VACUUM (ANALYZE) those with enough dead rows. For the embedded database, which has
 * no autovacuum. Table by table, so each statement holds the database only briefly.
 */
export async function maintain(db: Queryable): Promise<MaintenanceRound> {
  const due = await db.query<{ name: string; vacuum: boolean }>(DUE_SQL);
  const round: MaintenanceRound = { analyzed: [], vacuumed: [] };
  for (const { name, vacuum } of due) {
    // `name` comes from the catalog, quoted by format('%I'): no caller's text.
    await db.exec(vacuum ? `VACUUM (ANALYZE) ${name}` : `ANALYZE ${name}`);
    (vacuum ? round.vacuumed : round.analyzed).push(name);
  }
  return round;
}
