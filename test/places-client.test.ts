import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client } from '../engine/client/index.ts';
import { listenWire } from '../engine/server/wire-server.ts';
import { kvBundle, key, putMsg } from './places-helpers.ts';

describe('client place: handlers run in the caller, region accesses go to the server', () => {
  let server: Awaited<ReturnType<typeof listenWire>>;
  let client: Client;
  beforeAll(async () => {
    server = await listenWire({ host: { workers: 2 } });
    server.deploy(await kvBundle());
    client = await connect(`roam://127.0.0.1:${server.port}`, { steering: { probeEvery: 8, staleMs: 5 } });
  });
  afterAll(async () => {
    server.host.setLoad(0);
    client.close();
    await server.close();
  });

  it('gets at the client what host cores put, and the host sees what the client put', async () => {
    await client.send('kv/put', putMsg(1, 'from-host'), { place: 'host' });
    const r = await client.call('kv/get', key(1), { place: 'client' });
    expect(r.place).toBe('client');
    expect(Buffer.from(r.bytes).toString()).toBe('from-host');
    await client.send('kv/put', putMsg(2, 'from-client'), { place: 'client' });
    expect(Buffer.from(await client.send('kv/get', key(2), { place: 'host' })).toString()).toBe('from-client');
  });

  it('reports handler errors from the client place like the host does', async () => {
    await expect(client.send('kv/get', key(999_999), { place: 'client' })).rejects.toMatchObject({ code: 'E_HANDLER' });
    await expect(client.send('kv/get', Buffer.alloc(3), { place: 'client' })).rejects.toMatchObject({ code: 'E_HANDLER' });
  });

  it('keeps concurrent client-place and host puts of the same keys consistent (seqlock over the wire)', async () => {
    // A slot locked by a client-place writer for a few round trips makes host readers answer 503 (kv's
    // "busy, retry"); the caller retries, as kv's contract says.
    const put = async (k: number, v: string, place: 'host' | 'client'): Promise<void> => {
      for (;;) {
        try {
          return void (await client.send('kv/put', putMsg(k, v), { place }));
        } catch (e) {
          if (!/code 503/.test((e as Error).message)) throw e;
        }
      }
    };
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      ops.push(put(100 + (i % 10), `h${i}`, 'host'));
      if (i % 10 === 0) ops.push(put(100 + (i % 10), `c${i}`, 'client'));
    }
    await Promise.all(ops);
    for (let k = 100; k < 110; k++) {
      const [c, h] = await Promise.all([client.send('kv/get', key(k), { place: 'client' }), client.send('kv/get', key(k), { place: 'host' })]);
      expect(Buffer.from(c).toString()).toBe(Buffer.from(h).toString());
    }
  });

  it('shifts auto messages to the client place when host cores are made busy', async () => {
    for (let i = 0; i < 50; i++) await client.send('kv/put', putMsg(500 + i, `v${i}`), { place: 'host' });
    const run = async (n: number) => {
      const places: Record<string, number> = {};
      for (let round = 0; round < n; round++) {
        const rs = await Promise.all(Array.from({ length: 16 }, (_, i) => client.call('kv/get', key(500 + ((round * 16 + i) % 50)))));
        rs.forEach((r, i) => {
          places[r.place] = (places[r.place] ?? 0) + 1;
          expect(Buffer.from(r.bytes).toString()).toBe(`v${(round * 16 + i) % 50}`);
        });
      }
      return places;
    };
    await run(20);
    server.host.setLoad(0.98);
    // Messages queue behind the spinning host; steering must move gets to the client place.
    const busy = await run(80);
    expect(busy.client ?? 0).toBeGreaterThan(0);
    expect(client.steering.policy.shifts.some((s) => s.handler === 'kv/get' && s.to === 'client')).toBe(true);
  });

  it('gives every message one reply when the client-place worker dies, and starts a new one', async () => {
    await client.send('kv/put', putMsg(700, 'still-here'), { place: 'host' });
    const sends = Array.from({ length: 40 }, () => client.send('kv/get', key(700), { place: 'client' }));
    setImmediate(() => void client.localPlace!.crash());
    const res = await Promise.allSettled(sends);
    for (const r of res) {
      if (r.status === 'fulfilled') expect(Buffer.from(r.value).toString()).toBe('still-here');
      else expect((r.reason as { code: string }).code).toBe('E_PLACE_LOST');
    }
    expect(res.some((r) => r.status === 'rejected')).toBe(true);
    expect(Buffer.from(await client.send('kv/get', key(700), { place: 'client' })).toString()).toBe('still-here');
  });

  it('fails client-place messages with E_DISCONNECTED when the connection drops mid-batch', async () => {
    const c2 = await connect(server.port);
    await c2.send('kv/get', key(1), { place: 'client' });
    const sends = Array.from({ length: 20 }, () => c2.send('kv/get', key(1), { place: 'client' }));
    setImmediate(() => c2.close());
    const res = await Promise.allSettled(sends);
    for (const r of res) if (r.status === 'rejected') expect((r.reason as { code: string }).code).toMatch(/E_DISCONNECTED|E_PLACE_LOST/);
    expect(res.filter((r) => r.status === 'rejected').length).toBeGreaterThan(0);
    // The server keeps serving others.
    expect(Buffer.from(await client.send('kv/get', key(1), { place: 'host' })).toString()).toBe('from-host');
  });
});
