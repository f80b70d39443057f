// Fair queueing of handler messages at the host place (engine/places/fair-backlog.ts, host-pool.ts):
// a bundle flooding the host with slow messages waits its turn; other bundles keep theirs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FairBacklog } from '../engine/places/fair-backlog.ts';
import type { Pending } from '../engine/places/types.ts';
import { listenWire } from '../engine/server/wire-server.ts';
import { connect, type Client } from '../engine/client/index.ts';
import { cachedBuild } from '../engine/build/cached-build.ts';
import { key, kvBundle, putMsg, retrying } from './places-helpers.ts';

const msg = (bundle: number, handler = 1): Pending => ({ bundle, handler, payload: new Uint8Array(0), accepted: 0, done: () => {} });

describe('FairBacklog', () => {
  it('serves flows in proportion to their weights, charged by measured service time', () => {
    const weights: Record<number, number> = { 1: 6, 2: 1, 3: 2 };
    const q = new FairBacklog(() => 50_000, (b) => weights[b]!);
    for (let i = 0; i < 3000; i++) for (const b of [1, 2, 3]) q.push(msg(b));
    const served: Record<number, number> = { 1: 0, 2: 0, 3: 0 };
    for (let i = 0; i < 1800; i++) served[q.shift()!.bundle]!++;
    expect(served[1]! / 1800).toBeCloseTo(6 / 9, 1);
    expect(served[2]! / 1800).toBeCloseTo(1 / 9, 1);
    expect(served[3]! / 1800).toBeCloseTo(2 / 9, 1);
  });

  it('charges slow messages more: a flow of 5 ms messages gets the same time, not the same count, as a flow of 5 µs ones', () => {
    const q = new FairBacklog((b) => (b === 1 ? 5_000_000 : 5_000));
    for (let i = 0; i < 10_000; i++) q.push(msg(2));
    for (let i = 0; i < 100; i++) q.push(msg(1));
    let slow = 0;
    let quick = 0;
    for (let i = 0; i < 4000; i++) (q.shift()!.bundle === 1 ? slow++ : quick++);
    expect(slow).toBeGreaterThan(0);
    // Equal time: each slow message buys a thousand quick ones.
    expect(quick / slow).toBeGreaterThan(500);
  });

  it('keeps each flow in order and puts a message back first (unshift)', () => {
    const q = new FairBacklog(() => 1000);
    const a = [msg(1), msg(1), msg(1)];
    for (const m of a) q.push(m);
    const first = q.shift()!;
    expect(first).toBe(a[0]);
    q.unshift(first);
    expect([q.shift(), q.shift(), q.shift()]).toEqual(a);
    expect(q.shift()).toBeUndefined();
    expect(q.length).toBe(0);
  });
});

describe('a bundle flooding the host with slow messages', () => {
  let server: Awaited<ReturnType<typeof listenWire>>;
  let client: Client;
  beforeAll(async () => {
    const [kv, misbehave] = await Promise.all([kvBundle(), cachedBuild('test/fixtures/misbehave')]);
    server = await listenWire({ hostWorkers: 1, bundles: [kv, misbehave] });
    client = await connect(server.port, { clientPlace: false });
    await retrying(() => client.send('kv/put', putMsg(1, 'one'), { place: 'host' }));
    // Measured on the worker: kv's get is then known to be quick (and may run inline when `auto`).
    for (let i = 0; i < 40; i++) await client.send('kv/get', key(1), { place: 'host' });
  }, 120_000);
  afterAll(async () => {
    client.close();
    await server.close();
  });

  for (const place of ['host', 'auto'] as const) {
    it(`does not hold back another bundle's messages (place ${place}): they are answered while the flood still waits`, async () => {
      const { id } = await client.resolve('misbehave');
      // Each spin burns its whole fuel budget (E_FUEL) on the one worker: a few ms each.
      let spinsDone = 0;
      const flood = Array.from({ length: 600 }, () => client.sendRaw(id, 2, new Uint8Array(4), 'host').catch(() => {}).then(() => spinsDone++));
      for (let i = 0; i < 10; i++) expect(Buffer.from(await client.send('kv/get', key(1), { place })).toString()).toBe('one');
      // FIFO would have answered every spin first (they were queued ahead); fair queueing interleaves.
      expect(spinsDone).toBeLessThan(600);
      await Promise.all(flood);
      expect(spinsDone).toBe(600);
    }, 120_000);
  }
});

describe('a bundle whose waiting messages pass their bound', () => {
  it('gets E_BUSY for new messages while the backlog is full, and nothing already accepted is lost', async () => {
    const misbehave = await cachedBuild('test/fixtures/misbehave');
    const server = await listenWire({ hostWorkers: 1, bundles: [misbehave], host: { maxBacklogBytes: 64 * 1024 } });
    const client = await connect(server.port, { clientPlace: false });
    try {
      const { id } = await client.resolve('misbehave');
      // 1 KiB spins: the first ~20 fill the worker's window, the next 64 fill the backlog's 64 KiB, the rest are refused.
      const codes = await Promise.all(Array.from({ length: 200 }, () => client.sendRaw(id, 2, new Uint8Array(1024), 'host').then(() => 'ok', (e: { code: string }) => e.code)));
      const busy = codes.filter((c) => c === 'E_BUSY').length;
      const ran = codes.filter((c) => c === 'E_FUEL').length;
      expect(busy).toBeGreaterThan(0);
      expect(ran + busy).toBe(200); // every message answered once: run to its fuel limit, or refused
      // The bundle is served again once its backlog drained.
      expect(await client.sendRaw(id, 2, new Uint8Array(4), 'host').then(() => 'ok', (e: { code: string }) => e.code)).toBe('E_FUEL');
    } finally {
      client.close();
      await server.close();
    }
  }, 120_000);
});
