import { Code, ConnectError } from "@connectrpc/connect";

/** Why in-flight calls are cut when the shutdown grace period is over. */
export const shutdownReason = () => new ConnectError("server shutting down", Code.Unavailable);

/**
 * Runs `work` unless `signal` is already aborted, and settles as soon as the signal aborts: a
 * caller whose deadline passed or who went away gets its status now, not when the work ends.
 * The work itself stops only where it watches the signal.
 */
export function abortable<T>(work: () => T | Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  const running = Promise.resolve().then(work);
  running.catch(() => {}); // its outcome no longer matters once the signal won
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    running.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
