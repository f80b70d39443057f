import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client } from '../engine/client/index.ts';
import { listenWire } from '../engine/server/wire-server.ts';
import { cachedBuild } from '../engine/build/cached-build.ts';
import { key } from './places-helpers.ts';

const u32x2 = (a: number, b: number) => {
  const x = Buffer.alloc(8);
  x.writeUInt32LE(a, 0);
  x.writeUInt32LE(b, 4);
  return x;
};
const kv64 = (k: number, v: bigint) => {
  const x = Buffer.alloc(16);
  x.writeBigUInt64LE(BigInt(k), 0);
  x.writeBigUInt64LE(v, 8);
  return x;
};
const val = (b: Uint8Array) => Buffer.from(b).readBigUInt64LE(0);

describe('functions/btree: a Cell-style B+tree walked by region reads at any place', () => {
  let server: Awaited<ReturnType<typeof listenWire>>;
  let client: Client;
  beforeAll(async () => {
    server = await listenWire({ hostWorkers: 2, bundles: [await cachedBuild('functions/btree')] });
    client = await connect(server.port);
    await client.send('btree/build', u32x2(10_000, 2), { place: 'host' });
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('finds every probed key at the host and at the client, and misses absent keys', async () => {
    for (const k of [2, 4, 30, 32, 9_998, 20_000]) {
      const [h, c] = await Promise.all([client.send('btree/lookup', key(k), { place: 'host' }), client.send('btree/lookup', key(k), { place: 'client' })]);
      expect(val(h)).toBe(BigInt(k) * 3n);
      expect(val(c)).toBe(BigInt(k) * 3n);
    }
    await expect(client.send('btree/lookup', key(3), { place: 'client' })).rejects.toMatchObject({ code: 'E_HANDLER' });
    await expect(client.send('btree/lookup', key(20_002), { place: 'host' })).rejects.toMatchObject({ code: 'E_HANDLER' });
  });

  it('costs the client place one round trip pair per level (superblock + 4 levels for 10 000 keys)', async () => {
    await client.send('btree/lookup', key(1234), { place: 'client' });
    // 10 000 keys / 15 per leaf → 667 leaves → 45 → 3 → 1: each node is a read plus a version re-load.
    expect(client.steering.remoteOps('btree/lookup')).toBeCloseTo(10, 5);
  });

  it('applies an update made at the client where the data lives, visible to host lookups', async () => {
    await client.send('btree/update', kv64(4242, 77n), { place: 'client' });
    expect(val(await client.send('btree/lookup', key(4242), { place: 'host' }))).toBe(77n);
    await client.send('btree/update', kv64(4242, 78n), { place: 'host' });
    expect(val(await client.send('btree/lookup', key(4242), { place: 'client' }))).toBe(78n);
    await expect(client.send('btree/update', kv64(4243, 1n), { place: 'client' })).rejects.toMatchObject({ code: 'E_HANDLER' });
  });
});
