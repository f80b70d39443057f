/**
 * What a run is billed to its tenant: the worker's wall time in the guest, hop by hop, but never more
 * than OUTLIER × what the hop's fuel predicts at its function's recent time per unit of fuel.
 *
 * Why: wall time in the guest includes the worker thread being descheduled by the OS (or paused by a GC)
 * mid-hop. On a loaded machine that is a 5–20 ms pause landing on a 2 µs hop, and the fair scheduler
 * would bill it to whichever tenant happened to be running — a weight-1 tenant pays it six times over
 * against a weight-6 one, and loses a large share of a second. Fuel (the metered instruction count) does
 * not move with such pauses, so it bounds the bill. A hop that is really expensive (large input, a slow
 * host call) is billed in full: its fuel is large too, or its function's rate grows to match (the rate
 * follows the clamped observations and can grow by 1.3x per hop).
 */

/** A hop is billed at most this many times what its fuel predicts. */
const OUTLIER = 4;
/** Slack for hops whose fuel says little (a trap at entry, a host call's fixed cost), ms. */
const FLOOR_MS = 0.05;

export class ChargeModel {
  /** Per function: ms per unit of fuel, an EWMA of clamped observations; absent until seen. */
  private readonly rates = new Map<string, number>();

  /**
   * The ms to bill for a run's hop log ([function index into `fns`, fuel, ms, ok] per hop), updating the
   * functions' rates. Hops without fuel (remote hops, failures before any guest code) are billed as
   * measured.
   */
  bill(fns: readonly string[], hops: Float64Array | null): number | null {
    if (!hops) return null;
    let total = 0;
    for (let i = 0; i < hops.length; i += 4) {
      const fuel = hops[i + 1]!;
      let ms = hops[i + 2]!;
      if (fuel > 0) {
        const fn = fns[hops[i]!]!;
        const rate = this.rates.get(fn);
        if (rate === undefined) this.rates.set(fn, ms / fuel);
        else {
          const cap = OUTLIER * rate * fuel;
          this.rates.set(fn, rate * 0.9 + (Math.min(ms, cap) / fuel) * 0.1);
          ms = Math.min(ms, cap + FLOOR_MS);
        }
      }
      total += ms;
    }
    return total;
  }
}
