// A second implementation of the wire protocol talks to the server: benchmarks/wire-load/wire-load.c,
// the C load generator of the Redis comparison, built with the system's cc. Every pipelined request
// gets exactly one reply, the puts land, and the server keeps serving the client library afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client } from '../engine/client/index.ts';
import { listenWire } from '../engine/server/wire-server.ts';
import { loadKeys } from '../engine/demo/ycsb.ts';
import { runWireLoad, wireLoadBinary } from '../benchmarks/wire-load/index.ts';
import { kvBundle, key } from './places-helpers.ts';

const bin = wireLoadBinary();

describe.skipIf(!bin)('wire protocol from a C client (wire-load.c)', () => {
  let server: Awaited<ReturnType<typeof listenWire>>;
  let client: Client;
  let id: number;
  const KEYS = 500;
  beforeAll(async () => {
    server = await listenWire({ host: { workers: 2 } });
    id = server.deploy(await kvBundle()).id;
    client = await connect(server.port, { clientPlace: false });
    await loadKeys(client, id, KEYS);
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('answers every pipelined put and get exactly once, and the puts land', async () => {
    const calls0 = server.stats.calls, errors0 = server.stats.errors;
    const shape = { port: server.port, bundle: id, connections: 4, pipeline: 16, keys: KEYS };
    const put = await runWireLoad(bin!, { ...shape, type: 2, requests: 3000, valueBytes: 8 });
    const get = await runWireLoad(bin!, { ...shape, type: 1, requests: 5000, valueBytes: 0 });
    expect(put.ops).toBeGreaterThan(0);
    expect(get.ops).toBeGreaterThan(0);
    // Each request frame is one call; a "slot busy" answer (an error reply) is re-sent by the generator.
    const retries = put.retries + get.retries;
    expect(server.stats.calls - calls0).toBe(3000 + 5000 + retries);
    expect(server.stats.errors - errors0).toBe(retries);
    // 3000 random puts over 500 keys overwrite almost all of them with eight 'x' bytes.
    const values = await Promise.all(Array.from({ length: KEYS }, (_, i) => client.send('kv/get', key(i + 1))));
    const written = values.filter((v) => Buffer.from(v).toString() === 'xxxxxxxx').length;
    expect(written).toBeGreaterThan(KEYS * 0.9);
  });

  it('a request for a bundle that is not deployed fails the generator with the server\'s error, and the server keeps serving', async () => {
    await expect(runWireLoad(bin!, { port: server.port, bundle: 999, type: 1, connections: 1, pipeline: 4, requests: 8, keys: KEYS, valueBytes: 0 })).rejects.toThrow(/E_NO_BUNDLE/);
    expect(Buffer.from(await client.send('kv/get', key(1))).length).toBeGreaterThan(0);
  });
});
