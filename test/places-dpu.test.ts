import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client } from '../engine/client/index.ts';
import { listenWire } from '../engine/server/wire-server.ts';
import { DpuPlace } from '../engine/places/dpu-place.ts';
import { shmAddon } from '../engine/shm/index.ts';
import { kvBundle, key, putMsg } from './places-helpers.ts';

describe.skipIf(!shmAddon())('dpu place: a separate agent process over POSIX shm', () => {
  let server: Awaited<ReturnType<typeof listenWire>>;
  let dpu: DpuPlace;
  let client: Client;
  beforeAll(async () => {
    dpu = new DpuPlace();
    await dpu.start();
    server = await listenWire({ host: { workers: 1 }, dpu });
    server.deploy(await kvBundle());
    client = await connect(server.port);
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('sees what host workers wrote: both places share the region bytes', async () => {
    await client.send('kv/put', putMsg(11, 'from-host'), { place: 'host' });
    const r = await client.call('kv/get', key(11), { place: 'dpu' });
    expect(r.place).toBe('dpu');
    expect(Buffer.from(r.bytes).toString()).toBe('from-host');
    await client.send('kv/put', putMsg(12, 'from-dpu'), { place: 'dpu' });
    expect(Buffer.from(await client.send('kv/get', key(12), { place: 'host' })).toString()).toBe('from-dpu');
  });

  it('keeps probing the dpu while kv runs inline on the host, so its signals are live when the host congests', async () => {
    for (let i = 0; i < 40; i++) await client.send('kv/get', key(11), { place: 'host' }); // measured on the worker
    // Batches of 20 (one socket read each, far under the inline lane's 1 ms per turn): all can run inline.
    const burst = async () => {
      for (let b = 0; b < 100; b++) await Promise.all(Array.from({ length: 20 }, () => client.send('kv/get', key(11))));
    };
    for (let i = 0; i < 50 && server.stats.inline === 0; i++) await burst(); // until compiled for the network thread
    const inline0 = server.stats.inline, dpu0 = server.stats.byPlace.dpu;
    // Bursts apart by more than steering's staleMs (20 ms), so the dpu is stale when each burst starts.
    for (let i = 0; i < 10; i++) {
      await burst();
      await new Promise((r) => setTimeout(r, 30));
    }
    expect(server.stats.inline - inline0).toBeGreaterThan(10_000);
    expect(server.stats.byPlace.dpu - dpu0).toBeGreaterThan(0);
  });

  it('gives every message one reply when the agent is killed mid-run; acknowledged puts are all there', async () => {
    const n = 3000;
    const sends = Array.from({ length: n }, (_, i) => client.send('kv/put', putMsg(20_000 + i, `d${i}`), { place: 'dpu' }));
    setTimeout(() => dpu.child!.kill('SIGKILL'), 5);
    const res = await Promise.allSettled(sends);
    const failed = res.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    for (const f of failed) expect(f.reason.code).toMatch(/E_PLACE_LOST|E_PLACE_UNAVAILABLE/);
    expect(failed.filter((f) => f.reason.code === 'E_PLACE_LOST').length).toBeLessThanOrEqual(1);
    const got = await Promise.all(res.map((r, i) => (r.status === 'fulfilled' ? client.send('kv/get', key(20_000 + i), { place: 'host' }) : null)));
    got.forEach((g, i) => g && expect(Buffer.from(g).toString()).toBe(`d${i}`));
    // The server keeps serving, and a new agent can take the place back.
    expect(Buffer.from(await client.send('kv/get', key(11))).toString()).toBe('from-host');
    dpu.spawnAgent();
    await dpu.whenReady();
    expect((await client.call('kv/get', key(12), { place: 'dpu' })).place).toBe('dpu');
  });
});
