// What steering reads of a place; places publish these (engine/places/types.ts re-exports them for places).

/** Busy share is measured over windows this long: short enough to see co-located load well within the 50 ms shift goal. */
export const BUSY_WINDOW_MS = 25;

/** Live signals steering reads (per place). */
export interface PlaceSignals {
  available: boolean;
  /** Messages accepted and not yet replied. */
  queue: number;
  /** Lanes that run in parallel (worker threads, agent processes). */
  parallelism: number;
  /** EWMA of accept→reply time, ms. */
  sojournMs: number;
  /** EWMA of pure execution time per message, ms. */
  serviceMs: number;
  /** EWMA of the time per message while backlogged (drain-rate.ts), ms: what a queued message waits per message ahead. */
  drainMs?: number;
  /** Share of the last busy window the place's threads were not idle: handlers and any co-located work (0..1). */
  busy: number;
  /** performance.now() of the last completion. */
  lastDone: number;
  /** performance.now() when the place last went from idle to holding messages: a place that was idle has
   *  an old lastDone without being stalled, so stall time counts from the later of the two. */
  busySince?: number;
}
