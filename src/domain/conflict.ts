import { Code, quote, RsvpError } from "./errors.js";
import type { Reservation, TimeWindow } from "./reservation.js";
import { formatWindow } from "./time.js";

/**
 * The ALREADY_EXISTS a window that does not fit earns: names a reservation in the way and, when
 * `quantity` units were asked for or some are left (a counted resource), the units `free` at
 * the tightest instant.
 */
export function conflictError(
  resourceId: string,
  requested: TimeWindow,
  existing: Reservation,
  free = 0,
  quantity = 1,
) {
  const window = { start: existing.start, end: existing.end };
  const asked = formatWindow(requested);
  const message =
    quantity > 1 || free > 0
      ? `resource ${quote(resourceId)} has ${free} of the ${quantity} units asked for` +
        ` free throughout ${asked} (${formatWindow(window)} is reserved)`
      : `resource ${quote(resourceId)} is already reserved for ${formatWindow(window)}` +
        ` (requested ${asked})`;
  return new RsvpError(Code.AlreadyExists, message, {
    resourceId,
    requested: { start: requested.start, end: requested.end },
    existing: window,
    free,
  });
}
