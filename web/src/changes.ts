import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Rsvp } from "./api.js";
import { barWindow } from "./bar-text.js";
import { type Booking, toBooking } from "./booking.js";
import { describeError } from "./describe-error.js";
import { nextFree } from "./free-slots.js";
import type { Store } from "./store.js";
import type { Timeline } from "./timeline.js";
import type { Clash } from "./timeline-drag.js";
import type { Toast } from "./toast.js";

/** Changes to existing reservations, shared by dragging and the details panel. */
export class Changes {
  constructor(
    private readonly client: Rsvp,
    private readonly store: Store,
    private readonly timeline: Timeline,
    private readonly toast: Toast,
    private readonly reselect: (id: string) => void,
  ) {}

  /**
   * Sends `update` with a new window (and note, when given); the row is redrawn either way, so a
   * refused drag snaps back. A clash comes back with the next free window of the same length.
   */
  async reschedule(
    b: Booking,
    start: number,
    end: number,
    note: string | undefined,
  ): Promise<Clash | undefined> {
    const moved = start !== b.start || end !== b.end;
    try {
      const res = await this.client.update({
        id: b.id,
        ...(moved ? { start: timestampFromMs(start), end: timestampFromMs(end) } : {}),
        ...(note !== undefined || !moved ? { note: note ?? b.note } : {}),
      });
      if (res.reservation) this.store.apply(toBooking(res.reservation));
      this.timeline.redraw(b.resourceId);
      if (moved) this.toast.show(`Moved to ${barWindow({ start, end })}.`);
      return undefined;
    } catch (err) {
      this.timeline.redraw(b.resourceId);
      const message = describeError(err);
      if (ConnectError.from(err).code !== Code.AlreadyExists) return { message };
      const offer = await nextFree(this.client, b.resourceId, start, end - start);
      return offer ? { message, offer } : { message };
    }
  }

  /**
   * After a cancel, an Undo (focused, so Enter undoes) that books the same windows again: new
   * reservations, since a cancelled one stays cancelled for history. Several (a series from one
   * occurrence on) are booked again all or nothing, as one new group.
   */
  offerUndo(before: readonly Booking[]): void {
    const [first] = before;
    if (!first) return;
    const undo = async () => {
      try {
        const items = before.map((b) => ({
          reservation: {
            resourceId: b.resourceId,
            userId: b.userId,
            status: b.status,
            start: timestampFromMs(b.start),
            end: timestampFromMs(b.end),
            note: b.note,
          },
        }));
        const [only] = items;
        const made =
          only && items.length === 1
            ? [(await this.client.reserve(only)).reservation]
            : (await this.client.reserveAll({ items })).reservations;
        const again = made.flatMap((r) => (r ? [toBooking(r)] : []));
        for (const b of again) this.store.apply(b);
        const [back] = again;
        if (!back) return;
        this.reselect(back.id);
        this.timeline.keys.focus(back.id);
        this.toast.show(`Restored ${describe(again)}.`);
      } catch (err) {
        this.toast.show(`Could not undo: ${describeError(err)}`);
      }
    };
    this.toast.show(
      `Cancelled ${describe(before)}.`,
      { label: "Undo", run: () => void undo() },
      true,
    );
  }
}

/** `room-2 10:00–11:00`, or `room-2 10:00–11:00 and 3 later` for several. */
function describe(bookings: readonly Booking[]): string {
  const [first] = bookings;
  if (!first) return "nothing";
  const one = `${first.resourceId} ${barWindow(first)}`;
  return bookings.length === 1 ? one : `${one} and ${bookings.length - 1} later`;
}
