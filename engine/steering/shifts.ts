/**
 * Shift events: when steering moves a handler off a place, how long from the congestion that caused it
 * until ≥ 80 % of the handler's messages went to the new place. Steering calls `ShiftWatch` on its own
 * decisions (policy.ts), so the cost is a few compares per steered message while a move is in progress
 * and nothing otherwise; observers (the dashboard) get one event per completed shift.
 */
import type { PlaceSignals } from '../places/types.ts';

export interface ShiftEvent {
  /** Steering's handler key (the wire server's: bundle id × 65536 + handler type). */
  handler: string | number;
  from: string;
  to: string;
  /** performance.now() when the place left began to hold messages without progress (its signals: the
   *  later of its last completion and when it last got work), or the decision itself when it showed none. */
  onset: number;
  /** When steering first chose `to`. */
  decidedAt: number;
  /** The message that completed the first window (≥ MIN_WINDOW messages, ≥ 10 ms or more) with ≥ 80 % at `to`. */
  movedAt: number;
  /** movedAt − onset, ms: the figure `roam demo` and bench:places report as the shift time. */
  ms: number;
}

export interface SteeringObserver {
  shift(e: ShiftEvent): void;
}

/** A window closes after this long once it holds enough messages (as bench:places' 10 ms windows). */
const WINDOW_MS = 10;
/** Fewest messages a window needs before its share counts (a trickle must not "complete" on one message). */
const MIN_WINDOW = 5;
/** A move not completed within this long is dropped (it was a probe-like blip, not a shift). */
const GIVE_UP_MS = 2000;
export const SHIFT_SHARE = 0.8;

/** One move in progress for one handler. */
export class ShiftWatch {
  private winStart: number;
  private n = 0;
  private k = 0;
  constructor(readonly handler: string | number, readonly from: string, readonly to: string, readonly onset: number, readonly decidedAt: number) {
    this.winStart = decidedAt;
  }

  /** Where a left place's trouble began, from its signals at the decision. */
  static onsetOf(left: PlaceSignals | undefined, now: number): number {
    if (!left || left.queue === 0 || !(left.lastDone > 0)) return now;
    return Math.min(now, Math.max(left.lastDone, left.busySince ?? 0));
  }

  /** One more of the handler's messages went to `place`: the event when the move completed, 'stale' when
   *  it is given up, else null. */
  see(place: string, now: number): ShiftEvent | 'stale' | null {
    if (now - this.decidedAt > GIVE_UP_MS) return 'stale';
    if (now - this.winStart >= WINDOW_MS && this.n >= MIN_WINDOW) {
      this.winStart = now;
      this.n = this.k = 0;
    }
    this.n++;
    if (place === this.to) this.k++;
    if (this.n < MIN_WINDOW || this.k < SHIFT_SHARE * this.n) return null;
    return { handler: this.handler, from: this.from, to: this.to, onset: this.onset, decidedAt: this.decidedAt, movedAt: now, ms: now - this.onset };
  }
}
