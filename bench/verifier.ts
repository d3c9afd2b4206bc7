import type { BenchDb } from "./bench-db.js";
import type { Loader } from "./loader.js";
import type { Recorder } from "./recorder.js";
import type { VerifyResult } from "./tasks.js";

/** The correctness checks of a run; each result goes into the recorder. */
export interface Verifier {
  /** After one load run: its acked reservations exist and its resources have no overlap. */
  afterRun(name: string, ackedIds: readonly string[], resourcePrefix: string): Promise<void>;
  /** At the end of a phase: no overlap anywhere in the table. */
  finish(name: string): Promise<void>;
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
        `${overlaps} overlapping pairs`,
      );
    },
    async finish(name) {
      const overlaps = await db.overlaps();
      const rows = await db.count();
      rec.check(
        `${name}: no overlapping live rows in the whole table`,
        overlaps === 0,
        `${overlaps} overlapping pairs among ${rows} rows`,
      );
    },
  };
}

/**
 * Checks over the service's own `query` (embedded mode: the database lives inside the service
 * process). The acked ids are gathered and checked against one full read at the end.
 */
export function rpcVerifier(loader: Loader, target: () => string, rec: Recorder): Verifier {
  const acked: string[] = [];
  return {
    async afterRun(_name, ids) {
      acked.push(...ids);
    },
    async finish(name) {
      const r = await loader.run<VerifyResult>(
        { kind: "verify", target: target(), ackedIds: acked },
        600_000,
      );
      rec.check(
        `${name}: every acked reservation exists`,
        r.missing === 0,
        `${r.missing} of ${acked.length} missing`,
      );
      rec.check(
        `${name}: no overlapping live rows`,
        r.overlaps === 0,
        `${r.overlaps} overlaps among ${r.rows} rows`,
      );
      acked.length = 0;
    },
  };
}
