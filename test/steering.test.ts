import { describe, expect, it } from 'vitest';
import { Steering, estimateMs, clientExtraMs, type Candidate } from '../engine/steering/policy.ts';
import type { PlaceSignals } from '../engine/places/types.ts';
import { DrainRate } from '../engine/places/drain-rate.ts';

const sig = (o: Partial<PlaceSignals> = {}): PlaceSignals => ({ available: true, queue: 0, parallelism: 1, sojournMs: 0.05, serviceMs: 0.01, busy: 0, lastDone: 0, ...o });
const cands = (host: Partial<PlaceSignals>, dpu: Partial<PlaceSignals>): Candidate<'host' | 'dpu'>[] => [
  { name: 'host', signals: sig({ parallelism: 2, ...host }) },
  { name: 'dpu', signals: sig(dpu) },
];

describe('steering policy', () => {
  it('prefers the place with the lower estimated reply time', () => {
    const s = new Steering<'host' | 'dpu'>({ probeEvery: 0 });
    expect(s.choose('kv:get', cands({}, { sojournMs: 0.2 }))).toBe('host');
  });

  it('shifts on the next message once the host queue builds up', () => {
    const s = new Steering<'host' | 'dpu'>({ probeEvery: 0 });
    expect(s.choose('kv:get', cands({}, { sojournMs: 0.08 }))).toBe('host');
    expect(s.choose('kv:get', cands({ queue: 400 }, { sojournMs: 0.08 }))).toBe('dpu');
  });

  it('does not flap between places whose estimates differ by less than the margin', () => {
    const s = new Steering<'host' | 'dpu'>({ probeEvery: 0, margin: 0.3 });
    s.choose('h', cands({ sojournMs: 0.1 }, { sojournMs: 0.2 }));
    const picks = new Set<string | undefined>();
    for (let i = 0; i < 100; i++) picks.add(s.choose('h', cands({ sojournMs: 0.1 + (i % 2) * 0.02 }, { sojournMs: 0.1 })));
    expect([...picks]).toEqual(['host']);
  });

  it('keeps per-handler decisions apart', () => {
    const s = new Steering<'host' | 'dpu'>({ probeEvery: 0 });
    expect(s.choose('kv:get', cands({ sojournMs: 5 }, { sojournMs: 0.1 }))).toBe('dpu');
    expect(s.choose('btree:lookup', cands({ sojournMs: 0.1 }, { sojournMs: 5 }))).toBe('host');
  });

  it('probes a stale alternative now and then so its signals stay live', () => {
    const s = new Steering<'host' | 'dpu'>({ probeEvery: 4, staleMs: 10 });
    const picks = Array.from({ length: 8 }, () => s.choose('h', cands({ lastDone: 1000 }, { sojournMs: 9, lastDone: 0 }), 1000));
    expect(picks.filter((p) => p === 'dpu').length).toBe(2);
  });

  it('leaves a place that holds messages but has completed nothing for a while', () => {
    const s = new Steering<'host' | 'dpu'>({ probeEvery: 0 });
    expect(s.choose('h', cands({ queue: 10, lastDone: 1000 }, { sojournMs: 0.5, lastDone: 1000 }), 1000)).toBe('host');
    expect(s.choose('h', cands({ queue: 10, lastDone: 1000 }, { sojournMs: 0.5, lastDone: 1003 }), 1004)).toBe('dpu');
  });

  it('probes only a place that holds no message already (its answer will refresh it)', () => {
    const s = new Steering<'host' | 'dpu'>({ probeEvery: 4, staleMs: 10 });
    const picks = Array.from({ length: 8 }, () => s.choose('h', cands({ lastDone: 1000 }, { sojournMs: 9, lastDone: 0, queue: 1 }), 1000));
    expect(picks).not.toContain('dpu');
  });

  it('counts a stall from when an idle place got work, not from its last completion long ago', () => {
    const s = new Steering<'host' | 'dpu'>({ probeEvery: 0 });
    // The dpu was idle for a second, then got one message 1 ms ago: not stalled, so still the faster place.
    expect(s.choose('h', cands({ sojournMs: 2 }, { sojournMs: 0.2, queue: 1, lastDone: 0.5, busySince: 999 }), 1000)).toBe('dpu');
    // The same without busySince reads as a 1000 ms stall.
    expect(estimateMs({ name: 'dpu', signals: sig({ queue: 1, lastDone: 0.5 }) }, 1000)).toBeGreaterThan(900);
  });

  it('grows the queue term with the measured drain time, not the handler time alone', () => {
    const fast = estimateMs({ name: 'dpu', signals: sig({ queue: 100, serviceMs: 0.002 }) });
    const slow = estimateMs({ name: 'dpu', signals: sig({ queue: 100, serviceMs: 0.002, drainMs: 0.2 }) });
    expect(fast).toBeLessThan(1);
    expect(slow).toBeGreaterThan(20);
  });

  it('measures drain time only across backlogged batches, and forgets it once the backlog is gone', () => {
    const d = new DrainRate();
    d.batch(10, 100, true); // first batch: nothing to compare with yet
    expect(d.at(100)).toBe(0);
    d.batch(10, 110, true); // 10 messages in 10 ms while backlogged
    expect(d.at(110)).toBeCloseTo(0.2, 5); // EWMA from 0 with alpha 0.2 towards 1 ms per message
    d.batch(10, 120, false); // went idle after this batch
    d.batch(10, 500, true); // not backlogged since 120: no sample
    expect(d.at(500)).toBe(0); // older than 100 ms: forgotten
  });

  it('damps flapping: returning soon to a place it just left needs the wider return margin', () => {
    const s = new Steering<'host' | 'dpu'>({ probeEvery: 0, margin: 0.3, returnMargin: 0.6, holdDownMs: 200 });
    expect(s.choose('h', cands({ sojournMs: 1 }, { sojournMs: 2 }), 0)).toBe('host');
    expect(s.choose('h', cands({ sojournMs: 10 }, { sojournMs: 2 }), 10)).toBe('dpu');
    // 50 % faster again is enough to switch normally, but not within the hold-down.
    expect(s.choose('h', cands({ sojournMs: 1 }, { sojournMs: 2 }), 50)).toBe('dpu');
    expect(s.choose('h', cands({ sojournMs: 0.5 }, { sojournMs: 2 }), 60)).toBe('host');
    const t = new Steering<'host' | 'dpu'>({ probeEvery: 0, margin: 0.3, returnMargin: 0.6, holdDownMs: 200 });
    t.choose('h', cands({ sojournMs: 1 }, { sojournMs: 2 }), 0);
    t.choose('h', cands({ sojournMs: 10 }, { sojournMs: 2 }), 10);
    expect(t.choose('h', cands({ sojournMs: 1 }, { sojournMs: 2 }), 300)).toBe('host');
  });

  it('skips places that are not available', () => {
    const s = new Steering<'host' | 'dpu'>({ probeEvery: 0 });
    expect(s.choose('h', cands({ sojournMs: 9 }, { available: false }))).toBe('host');
    expect(s.choose('h', cands({ available: false }, { available: false }))).toBeUndefined();
  });

  it('charges the client place one round trip per remote read', () => {
    const base = estimateMs({ name: 'client', signals: sig() });
    expect(estimateMs({ name: 'client', signals: sig(), extraMs: clientExtraMs(4, 256, 0.05) })).toBeGreaterThan(base + 0.19);
  });
});
