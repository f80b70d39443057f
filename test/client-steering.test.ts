import { describe, expect, it } from 'vitest';
import { ClientSteering } from '../engine/steering/client-steering.ts';

const ready = { available: true, queue: 0, parallelism: 1 };
const run = (ms: number, ops = 2) => ({ ms, ops, bytes: ops * 64 });

describe('client-side steering (client place vs server)', () => {
  it('sends to the server while the client place is not ready', () => {
    const s = new ClientSteering({ probeEvery: 0 });
    s.recordServer('kv/get', 50);
    expect(s.choose('kv/get', { ...ready, available: false })).toBe('server');
  });

  it('stays at the server while its replies are faster than the remote reads the client would make', () => {
    const s = new ClientSteering({ probeEvery: 0 });
    s.rttMs = 0.1;
    s.recordServer('kv/get', 0.15);
    expect(s.choose('kv/get', ready)).toBe('server');
  });

  it('moves to the client once server reply times grow past the client cost, and back when they recover', () => {
    const s = new ClientSteering({ probeEvery: 0 });
    s.recordServer('kv/get', 0.15);
    s.recordClient('kv/get', 0.3, run(0.3));
    expect(s.choose('kv/get', ready)).toBe('server');
    for (let i = 0; i < 10; i++) s.recordServer('kv/get', 8);
    expect(s.choose('kv/get', ready)).toBe('client');
    for (let i = 0; i < 30; i++) s.recordServer('kv/get', 0.1);
    expect(s.choose('kv/get', ready)).toBe('server');
  });

  it('accounts for the round trips a handler makes: a 6-read B-tree lookup stays at the server where a 2-read get moves', () => {
    const s = new ClientSteering({ probeEvery: 0 });
    s.rttMs = 0.2;
    s.recordServer('kv/get', 1);
    s.recordServer('btree/lookup', 1);
    // Not yet run at the client: the estimate is ops × RTT from the default guess, then learned.
    s.recordClient('kv/get', 0.45, run(0.45, 2));
    s.recordClient('btree/lookup', 1.3, run(1.3, 6));
    expect(s.choose('kv/get', ready)).toBe('client');
    expect(s.choose('btree/lookup', ready)).toBe('server');
  });

  it('counts the local queue: a backlog at the single client worker sends work back to the server', () => {
    const s = new ClientSteering({ probeEvery: 0 });
    s.recordServer('kv/get', 2);
    s.recordClient('kv/get', 0.3, run(0.3));
    expect(s.choose('kv/get', ready)).toBe('client');
    expect(s.choose('kv/get', { ...ready, queue: 40 })).toBe('server');
  });

  it('does not flap when the two estimates are within the hysteresis margin', () => {
    const s = new ClientSteering({ probeEvery: 0, margin: 0.3 });
    s.recordServer('h', 0.5);
    s.recordClient('h', 0.45, run(0.45));
    const first = s.choose('h', ready);
    const picks = new Set([first]);
    for (let i = 0; i < 50; i++) {
      s.recordServer('h', i % 2 ? 0.42 : 0.55);
      picks.add(s.choose('h', ready));
    }
    expect(picks.size).toBe(1);
  });
});

describe('client-side steering and writes', () => {
  it('keeps a handler that wrote server data at the server once it has seen it write', () => {
    const s = new ClientSteering({ probeEvery: 0 });
    s.recordServer('kv/put', 50);
    s.recordClient('kv/put', 0.3, { ms: 0.3, ops: 5, bytes: 200, writes: 3 });
    expect(s.choose('kv/put', ready)).toBe('server');
  });
});
