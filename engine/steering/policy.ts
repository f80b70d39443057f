import { performance } from 'node:perf_hooks';
import type { PlaceSignals } from './signals.ts';
import { ShiftWatch, type ShiftEvent, type SteeringObserver } from './shifts.ts';
export type { ShiftEvent, SteeringObserver } from './shifts.ts';
import { Buckets } from '../observe/metrics.ts';

/** Shift times in seconds: the goal is 50 ms. */
export const SHIFT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface Candidate<P extends string = string> {
  name: P;
  signals: PlaceSignals;
  /** Extra latency a message pays to reach this place (e.g. remote reads at the client), ms. */
  extraMs?: number;
  /** Multiplier on the estimate: a standing preference (e.g. slower DPU cores). */
  bias?: number;
}

export interface SteeringOptions {
  /** Switch only when the other place is estimated this much faster (0.3 = 30 %): hysteresis. */
  margin?: number;
  /** Every Nth message goes to a stale alternative so its signals stay live (0 = never). */
  probeEvery?: number;
  /** An alternative's signals are stale when it completed nothing for this long, ms. */
  staleMs?: number;
  /** Going back to a place left less than this long ago needs `returnMargin` (flap damping), ms. */
  holdDownMs?: number;
  /** Margin to return to a place within its hold-down (0.6 = 60 % faster). */
  returnMargin?: number;
}

/**
 * Estimated reply time at a place from live signals: the larger of the measured sojourn (EWMA) and the
 * queue ahead of the message spread over the place's lanes times the EWMA service time. Queue depth
 * reacts at once when a place congests (every message sent there raises it), the EWMAs within a few
 * replies, which is what lets steering shift within milliseconds.
 */
export function estimateMs(c: Candidate, now = performance.now()): number {
  const s = c.signals;
  // A place holding messages that has completed nothing for a while is stalled: its EWMAs are frozen at
  // the last completion, so the stall itself is the estimate. This is the signal that reacts within
  // milliseconds when host cores are taken by other work.
  const stalled = s.queue > 0 && s.lastDone > 0 ? now - Math.max(s.lastDone, s.busySince ?? 0) : 0;
  const service = Math.max(s.serviceMs, s.drainMs ?? 0, 0.001);
  const queued = ((s.queue + 1) / Math.max(1, s.parallelism)) * service;
  return (c.bias ?? 1) * (Math.max(s.sojournMs, queued, stalled) / Math.max(0.05, 1 - Math.min(s.busy, 0.95) * 0.5)) + (c.extraMs ?? 0);
}

/** Estimated cost of running at the client: one RTT per remote region read plus transfer time. */
export function clientExtraMs(roundTrips: number, bytes: number, rttMs: number, bytesPerMs = 1e6): number {
  return roundTrips * rttMs + bytes / bytesPerMs;
}

interface HandlerState {
  current: string | undefined;
  count: number;
  /** The place last left and when: returning to it soon needs a larger margin. */
  left: string | undefined;
  leftAt: number;
  /** Messages steered to each place (probes included): the dashboard's per-handler shares. */
  placed: Record<string, number>;
  /** A move away from a place, until ≥ 80 % of messages follow it (shifts.ts). */
  watch: ShiftWatch | null;
}

/** What steering does with one handler, for observers (the dashboard). */
export interface HandlerView {
  current: string | undefined;
  placed: Readonly<Record<string, number>>;
}

/** Per-handler, per-message place choice with hysteresis; pinned places bypass it (the caller honours them). */
export class Steering<P extends string = string> {
  private readonly state = new Map<string | number, HandlerState>();
  private readonly margin: number;
  private readonly probeEvery: number;
  private readonly staleMs: number;
  private readonly holdDownMs: number;
  private readonly returnMargin: number;
  /** Place switches decided, for stats and the demo. */
  readonly shifts: Array<{ handler: string | number; from: string | undefined; to: string; at: number }> = [];
  /** Completed shifts (congestion → ≥ 80 % of the handler's messages moved), the last 256. */
  readonly moves: ShiftEvent[] = [];
  /** Counters for /metrics (never reset): decisions that changed a handler's place, and completed shifts
   *  by `from>to` with their times (movedAt − onset) in a fixed-bucket histogram. */
  switches = 0;
  readonly shiftCounts = new Map<string, number>();
  readonly shiftSeconds = new Buckets(SHIFT_BUCKETS);
  /** Told of each completed shift (the dashboard's timeline marks); set it, or leave it null. */
  observer: SteeringObserver | null = null;
  /** A handler's messages so far that ran without asking steering (the wire server's inline lane): a
   *  shift needs ≥ 80 % of all the handler's messages at the new place, not only of the steered ones. */
  bypassed: ((handler: string | number) => number) | null = null;

  constructor(opts: SteeringOptions = {}) {
    this.margin = opts.margin ?? 0.3;
    this.probeEvery = opts.probeEvery ?? 64;
    this.staleMs = opts.staleMs ?? 20;
    this.holdDownMs = opts.holdDownMs ?? 200;
    this.returnMargin = opts.returnMargin ?? 0.6;
  }

  choose(handler: string | number, candidates: Candidate<P>[], now = performance.now()): P | undefined {
    const live = candidates.filter((c) => c.signals.available);
    if (live.length === 0) return undefined;
    let st = this.state.get(handler);
    if (!st) this.state.set(handler, (st = { current: undefined, count: 0, left: undefined, leftAt: 0, placed: {}, watch: null }));
    st.count++;
    const cur = live.find((c) => c.name === st.current);
    let best = live[0]!;
    let bestEst = estimateMs(best, now);
    for (const c of live.slice(1)) {
      const e = estimateMs(c, now);
      if (e < bestEst) (best = c), (bestEst = e);
    }
    let pick = best;
    // Flap damping: a place just left (typically because it congested) looks good again as soon as it
    // empties, while the place that took over carries the whole load; returning soon needs a wider margin.
    const margin = best.name === st.left && now - st.leftAt < this.holdDownMs ? this.returnMargin : this.margin;
    if (cur && cur !== best && bestEst > estimateMs(cur, now) * (1 - margin)) pick = cur;
    if (pick.name !== st.current) {
      this.switches++;
      this.shifts.push({ handler, from: st.current, to: pick.name, at: now });
      if (this.shifts.length > 1000) this.shifts.shift();
      const left = st.current === undefined ? undefined : candidates.find((c) => c.name === st.current)?.signals;
      // Only a move off a congested place is a shift (a flap between idle places is not); any move ends a watch.
      st.watch = ShiftWatch.congested(left, now) ? new ShiftWatch(handler, st.current!, pick.name, ShiftWatch.onsetOf(left, now), now, this.bypassed) : null;
      st.left = st.current;
      st.leftAt = now;
      st.current = pick.name;
    }
    let to = pick.name;
    if (this.probeEvery > 0 && st.count % this.probeEvery === 0) {
      // One probe at a time: a place still holding a message will refresh its signals when it answers.
      const stale = live.find((c) => c !== pick && c.signals.queue === 0 && now - c.signals.lastDone > this.staleMs);
      if (stale) to = stale.name;
    }
    st.placed[to] = (st.placed[to] ?? 0) + 1;
    if (st.watch !== null) this.watched(st, to, now);
    return to;
  }

  /** Per handler: where it runs now and how many messages went where. */
  handlers(): IterableIterator<[string | number, HandlerView]> {
    return this.state.entries();
  }

  private watched(st: HandlerState, to: P, now: number): void {
    const r = st.watch!.see(to, now);
    if (r === null) return;
    st.watch = null;
    if (r === 'stale') return;
    this.moves.push(r);
    if (this.moves.length > 256) this.moves.shift();
    const k = `${r.from}>${r.to}`;
    this.shiftCounts.set(k, (this.shiftCounts.get(k) ?? 0) + 1);
    this.shiftSeconds.observe(r.ms / 1000);
    this.observer?.shift(r);
  }
}
