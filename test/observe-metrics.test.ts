// The conventions' building blocks (engine/observe, the gateway's and the places' families) on their own:
// the series cap, error codes as labels, log-linear histograms as Prometheus buckets, steering's counters.
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { GatewayMetrics } from '../engine/http/metrics.ts';
import { CodeCounts, MAX_SERIES, OTHER, scraped } from '../engine/observe/metrics.ts';
import { latencySamples } from '../engine/server/wire-metrics.ts';
import { LatencyCounts } from '../engine/places/latency.ts';
import { Steering, type Candidate } from '../engine/steering/policy.ts';
import type { PlaceSignals } from '../engine/places/types.ts';
import { humanLine, jsonLogger } from '../engine/observe/log.ts';

describe('metric families', () => {
  it('caps the names one family carries: past MAX_SERIES, new names count under _other', async () => {
    const m = new GatewayMetrics(() => ({}));
    for (let i = 0; i < MAX_SERIES + 100; i++) m.recordRequest('fn', `f${i}`, 200, 0.001);
    const text = await m.registry.metrics();
    const names = new Set([...text.matchAll(/^roam_requests_total\{kind="fn",name="([^"]+)"/gm)].map((x) => x[1]));
    expect(names.size).toBe(MAX_SERIES + 1);
    expect(names.has(OTHER)).toBe(true);
    expect(text).toMatch(new RegExp(`^roam_requests_total\\{kind="fn",name="${OTHER}",code="200"\\} 100$`, 'm'));
  });

  it('labels errors by code: a message, or a 65th distinct code, counts as E_OTHER', () => {
    const c = new CodeCounts();
    c.inc('E_FUEL');
    c.inc('guest said: no such key');
    for (let i = 0; i < 100; i++) c.inc(`E_X${i}`);
    const codes = new Map(c.entries());
    expect(codes.get('E_FUEL')).toBe(1);
    expect(codes.size).toBe(64);
    expect(codes.get('E_OTHER')).toBe(1 + 100 - 62);
  });

  it('refuses a counter without _total and a gauge with it', () => {
    const r = new Registry();
    expect(() => scraped(r, 'roam_x', 'x', 'counter', () => [])).toThrow(/_total/);
    expect(() => scraped(r, 'roam_y_total', 'y', 'gauge', () => [])).toThrow(/_total/);
  });

  it('turns the places\' log-linear counts into exact "≤ le" buckets in seconds', () => {
    const c = new LatencyCounts();
    for (const us of [3, 9, 24, 26, 90, 1000, 3_000_000]) c.recordNs(us * 1000);
    const s = latencySamples('t_seconds', { place: 'host' }, [c.counts]);
    const bucket = (le: number | string) => s.find((x) => x.metricName === 't_seconds_bucket' && x.labels.le === le)!.value;
    expect(bucket(1e-5)).toBe(2); // 3 µs and 9 µs
    expect(bucket(2.5e-5)).toBe(2); // 24 µs lies in [24, 26) µs: it straddles 25 µs, so it counts from the next bound
    expect(bucket(1e-4)).toBe(5);
    expect(bucket(1e-3)).toBe(5); // 1000 µs lies in [960, 1024): it straddles 1 ms, so it counts from the next bound
    expect(bucket(2.5e-3)).toBe(6);
    expect(bucket('+Inf')).toBe(7);
    expect(s.find((x) => x.metricName === 't_seconds_count')!.value).toBe(7);
  });
});

describe('steering counters', () => {
  it('counts switches, completed shifts by from and to, and their times', () => {
    const sig = (o: Partial<PlaceSignals>): PlaceSignals => ({ available: true, queue: 0, parallelism: 1, sojournMs: 0.05, serviceMs: 0.01, busy: 0, lastDone: 0, ...o });
    const cands = (host: Partial<PlaceSignals>, dpu: Partial<PlaceSignals>): Candidate<'host' | 'dpu'>[] => [
      { name: 'host', signals: sig({ parallelism: 2, ...host }) },
      { name: 'dpu', signals: sig({ sojournMs: 0.08, ...dpu }) },
    ];
    const s = new Steering<'host' | 'dpu'>({ probeEvery: 0 });
    for (let t = 1000; t < 1010; t++) s.choose(7, cands({ lastDone: t }, { lastDone: t }), t);
    for (let t = 1010; t < 1030; t++) s.choose(7, cands({ queue: 10, lastDone: 1009 }, { lastDone: t }), t);
    expect(s.switches).toBe(2); // first placement at the host, then the move
    expect(s.shiftCounts.get('host>dpu')).toBe(1);
    expect(s.shiftSeconds.count).toBe(1);
    expect(s.shiftSeconds.sum).toBeCloseTo(s.moves[0]!.ms / 1000);
  });
});

describe('the logger', () => {
  it('writes one JSON object per line, and a human line from it', () => {
    const lines: string[] = [];
    jsonLogger((l) => lines.push(l))('warn', 'slow "reader"', { peer: '1.2.3.4:5' });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'warn', msg: 'slow "reader"', peer: '1.2.3.4:5', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(humanLine(lines[0]!)).toBe('roam: warn: slow "reader" peer=1.2.3.4:5\n');
    expect(humanLine(JSON.stringify({ level: 'info', msg: 'GET /ada', source: 'guest', bundle: 'greeter', function: 'greet', tenant: 'default' }))).toBe('[greeter] info: GET /ada\n');
  });
});
