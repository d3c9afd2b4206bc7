import { Code, quote, RsvpError } from "./errors.js";
import type { Reservation, TimeWindow } from "./reservation.js";
import { formatWindow } from "./time.js";

/** The ALREADY_EXISTS a clashing window earns: names the window it clashed with. */
export function conflictError(resourceId: string, requested: TimeWindow, existing: Reservation) {
  const window = { start: existing.start, end: existing.end };
  return new RsvpError(
    Code.AlreadyExists,
    `resource ${quote(resourceId)} is already reserved for ${formatWindow(window)}` +
      ` (requested ${formatWindow(requested)})`,
    { resourceId, requested: { start: requested.start, end: requested.end }, existing: window },
  );
}
