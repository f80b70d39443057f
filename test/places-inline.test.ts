import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client } from '../engine/client/index.ts';
import { listenWire } from '../engine/server/wire-server.ts';
import { kvBundle, key, putMsg } from './places-helpers.ts';

type Server = Awaited<ReturnType<typeof listenWire>>;
const text = (b: Uint8Array) => Buffer.from(b).toString();

async function start(inline?: { maxNs?: number }): Promise<{ server: Server; client: Client }> {
  const server = await listenWire({ host: { workers: 2, ...(inline ? { inline } : {}) } });
  server.deploy(await kvBundle());
  const client = await connect(server.port, { clientPlace: false });
  // Measured on the workers first (pinned host never runs inline): 40 puts and 40 gets, one at a time.
  for (let i = 0; i < 40; i++) await client.send('kv/put', putMsg(i + 1, `v${i + 1}`), { place: 'host' });
  for (let i = 0; i < 40; i++) await client.send('kv/get', key(i + 1), { place: 'host' });
  return { server, client };
}

describe('inline lane: tiny handlers on the network thread', () => {
  let s: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    // One message at a time on a loaded machine can measure far above a pipelined call (cold caches,
    // preemption); these tests are about behaviour, so the bar is set at 2 ms.
    s = await start({ maxNs: 2_000_000 });
  });
  afterAll(async () => {
    s.client.close();
    await s.server.close();
  });

  it('runs a measured tiny handler inline when the workers hold nothing, with the same answers', async () => {
    const before = s.server.stats.inline;
    for (let i = 1; i <= 40; i++) expect(text(await s.client.send('kv/get', key(i)))).toBe(`v${i}`);
    expect(s.server.stats.inline - before).toBeGreaterThan(0);
    // Writes made inline are the workers' bytes too (one region, seen by every host thread).
    for (let i = 1; i <= 40; i++) await s.client.send('kv/put', putMsg(i, `w${i}`));
    for (let i = 1; i <= 40; i++) expect(text(await s.client.send('kv/get', key(i), { place: 'host' }))).toBe(`w${i}`);
  });

  it('never inlines a message pinned to the host (it goes to the worker pool)', async () => {
    const before = s.server.stats.inline;
    await Promise.all(Array.from({ length: 100 }, (_, i) => s.client.send('kv/get', key((i % 40) + 1), { place: 'host' })));
    expect(s.server.stats.inline).toBe(before);
  });

  it('stops inlining while the host cores are congested', async () => {
    s.server.host.setLoad(0.3);
    try {
      const before = s.server.stats.inline;
      for (let i = 1; i <= 20; i++) await s.client.send('kv/get', key(i));
      expect(s.server.stats.inline).toBe(before);
    } finally {
      s.server.host.setLoad(0);
    }
    const before = s.server.stats.inline;
    for (let i = 1; i <= 20; i++) await s.client.send('kv/get', key(i));
    expect(s.server.stats.inline).toBeGreaterThan(before);
  });

  it('answers a handler failure inline with its error and keeps serving', async () => {
    const before = s.server.stats.inline;
    await expect(s.client.send('kv/get', key(987654))).rejects.toMatchObject({ code: 'E_HANDLER', message: expect.stringMatching(/404/) });
    await expect(s.client.send('kv/get', Buffer.alloc(3))).rejects.toMatchObject({ code: 'E_HANDLER', message: expect.stringMatching(/400/) });
    expect(s.server.stats.inline - before).toBe(2);
    expect(text(await s.client.send('kv/get', key(5)))).toBe('w5');
  });
});

describe('inline lane limits', () => {
  it('keeps handlers slower than maxNs on the workers', async () => {
    const { server, client } = await start({ maxNs: 1 });
    try {
      for (let i = 1; i <= 40; i++) expect(text(await client.send('kv/get', key(i)))).toBe(`v${i}`);
      expect(server.stats.inline).toBe(0);
    } finally {
      client.close();
      await server.close();
    }
  });
});
