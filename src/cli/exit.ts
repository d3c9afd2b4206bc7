/** The exit statuses of `rsvp`, documented in its `--help`. */
export const Exit = {
  ok: 0,
  /** Bad usage or input: nothing was done (whether rsvp or the server found the fault). */
  usage: 1,
  /** The server answered and refused: not found, a clashing window, a wrong state. */
  refused: 2,
  /** No answer: the server is unreachable, timed out or failed internally. */
  unavailable: 3,
} as const;
export type Exit = (typeof Exit)[keyof typeof Exit];

/** A failure to report as one line, `rsvp: <message>`, and an exit status. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode: Exit,
  ) {
    super(message);
  }
}
