/**
 * The messages between the service and the thread that runs the embedded database. Every
 * request carries an id; the thread answers each id exactly once, in the order it finishes.
 */
export type WorkerRequest =
  | {
      readonly op: "query";
      readonly id: number;
      readonly text: string;
      readonly params: readonly unknown[];
      /** The id of the `begin` whose transaction runs it; none: a statement of its own. */
      readonly tx?: number | undefined;
    }
  | { readonly op: "exec"; readonly id: number; readonly text: string; readonly tx?: number }
  /** Opens a transaction; answered once it holds the database, its id naming it after. */
  | { readonly op: "begin"; readonly id: number }
  /** Ends transaction `tx`: answered once committed or rolled back. */
  | { readonly op: "end"; readonly id: number; readonly tx: number; readonly commit: boolean }
  | { readonly op: "listen"; readonly id: number; readonly channel: string }
  | { readonly op: "unlisten"; readonly id: number; readonly channel: string }
  /** The caller gave up on request `target`: drop it if it has not started. */
  | { readonly op: "cancel"; readonly id: number; readonly target: number }
  | { readonly op: "close"; readonly id: number };

/** An error as it crosses threads: its message and its fields (SQLSTATE `code` and others). */
export interface SerializedError {
  readonly message: string;
  readonly fields: Record<string, string | number | boolean>;
}

export type WorkerReply =
  /** The database is open (or could not be: `error`), the first message the thread sends. */
  | { readonly kind: "ready"; readonly error?: SerializedError }
  | { readonly kind: "result"; readonly id: number; readonly rows?: unknown[] }
  | { readonly kind: "error"; readonly id: number; readonly error: SerializedError }
  /** Request `id` was cancelled before it started. */
  | { readonly kind: "cancelled"; readonly id: number }
  | { readonly kind: "notify"; readonly channel: string };

/** Keeps what a caller may read of an error (SQLSTATE, constraint, detail); drops the rest. */
export function serializeError(err: unknown): SerializedError {
  const fields: Record<string, string | number | boolean> = {};
  if (err && typeof err === "object") {
    for (const [k, v] of Object.entries(err)) {
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") fields[k] = v;
    }
    if (err instanceof Error) fields.name = err.name;
  }
  return { message: err instanceof Error ? err.message : String(err), fields };
}

/** The error again, on the caller's side: an Error with the same message and fields. */
export function deserializeError(e: SerializedError): Error {
  return Object.assign(new Error(e.message), e.fields);
}
