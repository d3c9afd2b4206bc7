import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

/** The file inside an embedded data directory that names the process owning it. */
export const LOCK_FILE = "rsvp.lock";

/** Another live process owns the data directory. */
export class DataDirInUseError extends Error {
  override readonly name = "DataDirInUseError";
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
    holderHost: string,
  ) {
    super(
      holderHost === hostname()
        ? `data directory ${dataDir} is in use by another rsvp process (pid ${holderPid}); stop it first`
        : `data directory ${dataDir} is in use by an rsvp process on ${holderHost} (pid ${holderPid}); stop it first`,
    );
  }
}

/** A held lock: release it after the database is closed. */
export interface DataDirLock {
  release(): void;
}

interface Holder {
  readonly pid: number;
  readonly host: string;
}

function parse(text: string): Holder | undefined {
  try {
    const v = JSON.parse(text) as { pid?: unknown; host?: unknown };
    return typeof v.pid === "number" && typeof v.host === "string"
      ? { pid: v.pid, host: v.host }
      : undefined;
  } catch {
    return undefined;
  }
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Whether `pid` is a running process here (EPERM: it runs, as another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Whether a lock's content says its holder is gone. A lock appears with its content complete
 * (see {@link lockDataDir}), so unreadable content is damage (a crash before the file reached
 * the disk): stale. A holder on another host cannot be checked, so it is never stale. A pid
 * reused by an unrelated process looks alive: rsvp then refuses, naming the pid, and never
 * opens the directory twice.
 */
function isStale(holder: Holder): boolean {
  return holder.host === hostname() && !alive(holder.pid);
}

/**
 * Moves a stale lock aside, exactly the one whose content was judged stale. rename(2) is
 * atomic, so of several processes taking over at once only one moves any given file; one
 * that moved a fresh lock instead (another process took over first) puts it back with
 * link(2), which never overwrites. (Only if a third process locks in the instant between
 * those two calls would two owners remain; that takes three concurrent starts over a stale
 * lock.)
 */
function removeStale(path: string, staleText: string): void {
  const aside = `${path}.stale-${process.pid}-${Date.now()}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return; // someone else moved it
    throw err;
  }
  if (readOrUndefined(aside) !== staleText) {
    try {
      linkSync(aside, path); // a live lock: back where it was
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  unlinkSync(aside);
}

/**
 * Takes the exclusive lock of an embedded data directory, creating the directory if needed:
 * a file holding this process's pid and host, written aside and then linked into place
 * (link(2) fails if the name exists, like O_EXCL, and the file never appears half-written). A lock whose process no
 * longer runs (killed, crashed) is taken over; one whose process runs is refused with
 * {@link DataDirInUseError}. Call before the database opens the directory; release after it
 * is closed.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  const content = JSON.stringify({ pid: process.pid, host: hostname() });
  const mine = `${path}.${process.pid}.tmp`;
  writeFileSync(mine, content, { mode: 0o644 });
  try {
    for (let attempt = 0; ; attempt++) {
      if (attempt === 10) {
        throw new Error(`could not lock data directory ${dataDir}: it keeps changing hands`);
      }
      try {
        linkSync(mine, path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const text = readOrUndefined(path);
      if (text === undefined) continue; // released meanwhile: try again
      const holder = parse(text);
      if (holder && !isStale(holder)) throw new DataDirInUseError(dataDir, holder.pid, holder.host);
      removeStale(path, text);
    }
  } finally {
    unlinkSync(mine);
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      // Only our own lock: never one a later owner took over.
      if (readOrUndefined(path) === content) unlinkSync(path);
    },
  };
}
