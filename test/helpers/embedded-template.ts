import { createHash } from "node:crypto";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { btree_gist } from "@electric-sql/pglite/contrib/btree_gist";
import { migrate } from "../../src/db/engine/migrate.js";
import { openDb } from "../../src/db/engine/open.js";

const MIGRATIONS = new URL("../../src/db/migrations/", import.meta.url);

/** What the template is made of: the migrations and the PGlite that ran them. */
function templateKey(): string {
  const hash = createHash("sha256");
  // The package exports no package.json: its version is read beside its entry point.
  const entry = createRequire(import.meta.url).resolve("@electric-sql/pglite");
  hash.update(readFileSync(join(dirname(entry), "..", "package.json")));
  for (const name of readdirSync(MIGRATIONS)
    .filter((f) => f.endsWith(".sql"))
    .sort()) {
    hash.update(name).update(readFileSync(new URL(name, MIGRATIONS)));
  }
  return hash.digest("hex").slice(0, 16);
}

/** Migrates a fresh embedded database on disk and archives its directory at `path`. */
async function build(path: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "rsvp-template-"));
  try {
    const db = await openDb({ kind: "embedded", dataDir: dir });
    try {
      await migrate(db);
    } finally {
      await db.close();
    }
    const pg = await PGlite.create(dir, { extensions: { btree_gist } });
    const archive = await pg.dumpDataDir("none");
    await pg.close();
    // Written whole under another name first: a test process reading it never sees half of it.
    const partial = `${path}.${process.pid}`;
    writeFileSync(partial, new Uint8Array(await archive.arrayBuffer()));
    renameSync(partial, path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let template: Promise<string> | undefined;

/**
 * An archive of a migrated embedded database, made once per set of migrations and kept in the
 * temporary directory: every memory:// database of the suites starts from it instead of
 * running initdb and every migration (seconds of CPU each, hundreds of times a run). The
 * migrations themselves are tested from an empty database (migrate.test.ts).
 */
function embeddedTemplate(): Promise<string> {
  template ??= (async () => {
    const path = join(tmpdir(), `rsvp-embedded-${templateKey()}.tar`);
    if (!existsSync(path)) await build(path);
    return path;
  })();
  return template;
}

/** A memory:// target that starts from the suites' template. */
export async function memoryTarget() {
  return { kind: "embedded", dataDir: "memory://", template: await embeddedTemplate() } as const;
}
