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
   * After a cancel, an Undo (focused, so Enter undoes) that books the same window again: a new
   * reservation, since a cancelled one stays cancelled for history.
   */
  offerUndo(before: Booking): void {
    const undo = async () => {
      try {
        const res = await this.client.reserve({
          reservation: {
            resourceId: before.resourceId,
            userId: before.userId,
            status: before.status,
            start: timestampFromMs(before.start),
            end: timestampFromMs(before.end),
            note: before.note,
          },
        });
        if (!res.reservation) return;
        const again = toBooking(res.reservation);
        this.store.apply(again);
        this.reselect(again.id);
        this.timeline.keys.focus(again.id);
        this.toast.show(`Restored ${again.resourceId} ${barWindow(again)}.`);
      } catch (err) {
        this.toast.show(`Could not undo: ${describeError(err)}`);
      }
    };
    const text = `Cancelled ${before.resourceId} ${barWindow(before)}.`;
    this.toast.show(text, { label: "Undo", run: () => void undo() }, true);
  }
}
