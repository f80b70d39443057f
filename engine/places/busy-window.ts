import { BUSY_WINDOW_MS } from './types.ts';

/**
 * A place's busy fraction, recomputed once per BUSY_WINDOW_MS from its cumulative busy time (ns); between
 * windows the last value holds, so steering's per-message reads cost a comparison.
 */
export class BusyWindow {
  private at = performance.now();
  private ns = 0;
  private busy = 0;

  update(now: number, busyNs: number): number {
    if (now - this.at > BUSY_WINDOW_MS) {
      this.busy = Math.min(1, (busyNs - this.ns) / 1e6 / (now - this.at));
      this.at = now;
      this.ns = busyNs;
    }
    return this.busy;
  }
}
