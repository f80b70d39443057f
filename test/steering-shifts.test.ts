import { describe, expect, it } from 'vitest';
import { Steering, type Candidate, type ShiftEvent } from '../engine/steering/policy.ts';
import type { PlaceSignals } from '../engine/places/types.ts';
import { LatencyCounts, bucketOf, bucketRange, quantileMs } from '../engine/places/latency.ts';

const sig = (o: Partial<PlaceSignals> = {}): PlaceSignals => ({ available: true, queue: 0, parallelism: 1, sojournMs: 0.05, serviceMs: 0.01, busy: 0, lastDone: 0, ...o });
const cands = (host: Partial<PlaceSignals>, dpu: Partial<PlaceSignals>): Candidate<'host' | 'dpu'>[] => [
  { name: 'host', signals: sig({ parallelism: 2, ...host }) },
  { name: 'dpu', signals: sig({ sojournMs: 0.08, ...dpu }) },
];

describe('steering shift events', () => {
  it('reports a shift once 80 % of a window of the handler\'s messages went to the new place, timed from the stall onset', () => {
    const s = new Steering<'host' | 'dpu'>({ probeEvery: 0 });
    const seen: ShiftEvent[] = [];
    s.observer = { shift: (e) => seen.push(e) };
    for (let t = 1000; t < 1010; t++) s.choose(7, cands({ lastDone: t }, { lastDone: t }), t);
    // The host stops completing at t = 1009 while holding 10 messages: the stall moves the handler.
    for (let t = 1010; t < 1030; t++) s.choose(7, cands({ queue: 10, lastDone: 1009 }, { lastDone: t }), t);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ handler: 7, from: 'host', to: 'dpu', onset: 1009 });
    expect(seen[0]!.decidedAt).toBeGreaterThan(1009);
    expect(seen[0]!.movedAt).toBeGreaterThanOrEqual(seen[0]!.decidedAt);
    expect(seen[0]!.ms).toBe(seen[0]!.movedAt - 1009);
    expect(s.moves).toEqual(seen);
  });

  it('reports no shift when the messages that bypassed steering (the inline lane) stayed behind', () => {
    const s = new Steering<'host' | 'dpu'>({ probeEvery: 0 });
    const seen: ShiftEvent[] = [];
    s.observer = { shift: (e) => seen.push(e) };
    let inline = 0;
    s.bypassed = () => inline;
    for (let t = 1000; t < 1010; t++) s.choose(7, cands({ lastDone: t }, { lastDone: t }), t);
    // Steering moves its few messages to the dpu, while 20 a millisecond keep running inline at the host.
    for (let t = 1010; t < 1030; t++) {
      inline += 20;
      s.choose(7, cands({ queue: 10, lastDone: 1009 }, { lastDone: t }), t);
    }
    expect(seen).toHaveLength(0);
  });

  it('reports no shift for a 10 ms blip: a burst steered to the dpu while the inline lane paused', () => {
    const s = new Steering<'host' | 'dpu'>({ probeEvery: 0 });
    const seen: ShiftEvent[] = [];
    s.observer = { shift: (e) => seen.push(e) };
    let inline = 0;
    s.bypassed = () => inline;
    for (let t = 1000; t < 1010; t++) s.choose(7, cands({ lastDone: t }, { lastDone: t }), t);
    // 12 ms where every message is steered (to the dpu), then the inline lane takes 20 a millisecond again.
    for (let t = 1010; t < 1022; t++) for (let i = 0; i < 3; i++) s.choose(7, cands({ queue: 10, lastDone: 1009 }, { lastDone: t }), t);
    for (let t = 1022; t < 1060; t++) {
      inline += 20;
      s.choose(7, cands({ queue: 10, lastDone: 1009 }, { lastDone: t }), t);
    }
    expect(seen).toHaveLength(0);
  });

  it('counts messages per place per handler, probes included', () => {
    const s = new Steering<'host' | 'dpu'>({ probeEvery: 4, staleMs: 10 });
    for (let i = 0; i < 8; i++) s.choose('h', cands({ lastDone: 1000 }, { sojournMs: 9, lastDone: 0 }), 1000);
    const [, view] = [...s.handlers()][0]!;
    expect(view.placed).toEqual({ host: 6, dpu: 2 });
    expect(view.current).toBe('host');
  });

  it('reports no shift when steering moves off a place that was not congested', () => {
    const s = new Steering<'host' | 'dpu'>({ probeEvery: 0 });
    const seen: ShiftEvent[] = [];
    s.observer = { shift: (e) => seen.push(e) };
    for (let t = 0; t < 10; t++) s.choose('h', cands({}, { sojournMs: 0.5 }), t);
    // The host's EWMA grows while it holds nothing: a move, not a congestion.
    for (let t = 10; t < 40; t++) expect(s.choose('h', cands({ sojournMs: 5 }, {}), t)).toBe('dpu');
    expect(seen).toHaveLength(0);
  });

  it('reports no shift for a first placement or a move that messages never follow', () => {
    const s = new Steering<'host' | 'dpu'>({ probeEvery: 0 });
    const seen: ShiftEvent[] = [];
    s.observer = { shift: (e) => seen.push(e) };
    s.choose('h', cands({ sojournMs: 5 }, {}), 0); // first placement: dpu
    expect(seen).toHaveLength(0);
    // Flapping back and forth every message never fills a window with 80 % at one place.
    for (let t = 1; t < 40; t++) s.choose('h', t % 2 ? cands({}, { sojournMs: 50 }) : cands({ sojournMs: 50 }, {}), t * 300);
    expect(seen).toHaveLength(0);
  });
});

describe('latency counts', () => {
  it('puts each time in a bucket whose range holds it, within 12.5 %', () => {
    for (const us of [0, 1, 7, 8, 9, 15, 16, 100, 1234, 99_999, 2 ** 30]) {
      const [lo, hi] = bucketRange(bucketOf(us));
      expect(us).toBeGreaterThanOrEqual(lo);
      expect(us).toBeLessThan(hi);
      if (us >= 8) expect((hi - lo) / lo).toBeLessThanOrEqual(0.125);
    }
  });

  it('gives p50 and p99 of what was recorded, and NaN when nothing was', () => {
    const l = new LatencyCounts();
    expect(quantileMs(l.counts, 0.5)).toBeNaN();
    for (let i = 0; i < 990; i++) l.record(0.1);
    for (let i = 0; i < 10; i++) l.record(20);
    expect(quantileMs(l.counts, 0.5)).toBeCloseTo(0.1, 1);
    expect(quantileMs(l.counts, 0.999)).toBeGreaterThan(18);
    expect(quantileMs(l.counts, 0.999)).toBeLessThan(22);
    l.record(-1);
    l.record(1e9); // a clock step or a stuck message: counted at the ends, never out of range
    expect(l.counts.reduce((a, b) => a + b)).toBe(1002);
  });
});
