/**
 * Shift events: when steering moves a handler off a place, how long from the congestion that caused it
 * until ≥ 80 % of the handler's messages went to the new place. Steering calls `ShiftWatch` on its own
 * decisions (policy.ts), so the cost is a few compares per steered message while a move is in progress
 * and nothing otherwise; observers (the dashboard) get one event per completed shift.
 */
import type { PlaceSignals } from './signals.ts';

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
  /** Start of the first 10 ms window (slid in 1 ms steps, ≥ 5 messages) with ≥ 80 % of them at `to`, once
   *  a window a whole window later held too (a 10 ms blip is not a move). */
  movedAt: number;
  /** movedAt − onset, ms: the figure `roam demo` and bench:places report as the shift time. */
  ms: number;
}

export interface SteeringObserver {
  shift(e: ShiftEvent): void;
}

/** Windows are this long, slid in 1 ms steps (as bench:places' shiftAfter): a move counts once a whole
 *  window holds enough messages, ≥ 80 % of them at the new place. */
const WINDOW_MS = 10;
/** Fewest messages a window needs before its share counts (a trickle must not "complete" on one message). */
const MIN_WINDOW = 5;
/** A move not completed within this long is dropped (it was a probe-like blip, not a shift). */
const GIVE_UP_MS = 2000;
export const SHIFT_SHARE = 0.8;

/** One move in progress for one handler: messages counted in 1 ms bins since the decision. */
export class ShiftWatch {
  private readonly n = new Int32Array(WINDOW_MS);
  private readonly k = new Int32Array(WINDOW_MS);
  /** The bin the last message fell in (ms since the decision). */
  private bin = 0;
  /** Start of the first window that held ≥ 80 % at `to` (−1: none yet), and the bin from which a window
   *  holding again confirms the move. */
  private firstAt = -1;
  private confirmBin = 0;
  /** The bypass counter when the current bin began (messages steering never saw count against `to`). */
  private bypassAt: number;
  constructor(
    readonly handler: string | number,
    readonly from: string,
    readonly to: string,
    readonly onset: number,
    readonly decidedAt: number,
    private readonly bypassed: ((handler: string | number) => number) | null = null,
  ) {
    this.bypassAt = bypassed ? bypassed(handler) : 0;
  }

  /** Was the place being left congested (so the move is a shift, not a flap between two idle places)?
   *  Unavailable, or holding messages and either stalled for 5 messages' time (≥ 0.1 ms) or queued 4 deep
   *  per lane. */
  static congested(left: PlaceSignals | undefined, now: number): boolean {
    if (!left) return false;
    if (!left.available) return true;
    if (left.queue === 0) return false;
    const stall = left.lastDone > 0 ? now - Math.max(left.lastDone, left.busySince ?? 0) : 0;
    return stall >= Math.max(0.1, 5 * Math.max(left.serviceMs, left.drainMs ?? 0)) || left.queue >= 4 * Math.max(1, left.parallelism);
  }

  /** Where a left place's trouble began, from its signals at the decision. */
  static onsetOf(left: PlaceSignals | undefined, now: number): number {
    if (!left || left.queue === 0 || !(left.lastDone > 0)) return now;
    return Math.min(now, Math.max(left.lastDone, left.busySince ?? 0));
  }

  /** One more of the handler's messages went to `place`: the event once a window ending before this
   *  message's bin qualified, 'stale' when the move is given up, else null. A move that steering reverses
   *  within a window never qualifies (the next decision replaces this watch). */
  see(place: string, now: number): ShiftEvent | 'stale' | null {
    if (now - this.decidedAt > GIVE_UP_MS) return 'stale';
    const b = Math.max(0, Math.floor(now - this.decidedAt));
    if (b > this.bin) {
      // Messages that bypassed steering during the bin just closed (read once per bin, not per message).
      if (this.bypassed) {
        const by = this.bypassed(this.handler);
        this.n[this.bin % WINDOW_MS]! += by - this.bypassAt;
        this.bypassAt = by;
      }
      let n = 0, k = 0;
      for (let i = 0; i < WINDOW_MS; i++) (n += this.n[i]!), (k += this.k[i]!);
      const holds = n >= MIN_WINDOW && k >= SHIFT_SHARE * n;
      if (holds && this.firstAt < 0) {
        // The window is the bins up to the last message's: it started at most WINDOW_MS - 1 bins before.
        this.firstAt = this.decidedAt + Math.max(0, this.bin - (WINDOW_MS - 1));
        this.confirmBin = this.bin + WINDOW_MS;
      } else if (!holds && n >= MIN_WINDOW) this.firstAt = -1; // a blip (a burst the inline lane left to steering), not a move
      // Held again a whole window later: the move is sustained, timed from its first window.
      if (holds && this.firstAt >= 0 && this.bin >= this.confirmBin) {
        const movedAt = this.firstAt;
        return { handler: this.handler, from: this.from, to: this.to, onset: this.onset, decidedAt: this.decidedAt, movedAt, ms: movedAt - this.onset };
      }
      for (let i = this.bin + 1; i <= Math.min(b, this.bin + WINDOW_MS); i++) this.n[i % WINDOW_MS] = this.k[i % WINDOW_MS] = 0;
      this.bin = b;
    }
    this.n[b % WINDOW_MS]!++;
    if (place === this.to) this.k[b % WINDOW_MS]!++;
    return null;
  }
}
