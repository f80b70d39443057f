import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client } from '../engine/client/index.ts';
import { listenWire } from '../engine/server/wire-server.ts';
import { kvBundle, key, putMsg, retrying } from './places-helpers.ts';

describe('host place through the wire', () => {
  let server: Awaited<ReturnType<typeof listenWire>>;
  let client: Client;
  beforeAll(async () => {
    server = await listenWire({ host: { workers: 2 } });
    server.deploy(await kvBundle());
    client = await connect(server.port);
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('puts and gets kv values on host cores', async () => {
    await client.send('kv/put', putMsg(7, 'seven'), { place: 'host' });
    const r = await client.call('kv/get', key(7), { place: 'host' });
    expect(Buffer.from(r.bytes).toString()).toBe('seven');
    expect(r.place).toBe('host');
  });

  it('pipelines many calls in one batch and matches every reply to its request', async () => {
    const n = 2000;
    // Two workers and the network thread run these at once: keys sharing a slot may meet its lock (retry).
    await Promise.all(Array.from({ length: n }, (_, i) => retrying(() => client.send('kv/put', putMsg(1000 + i, `v${i}`)))));
    const got = await Promise.all(Array.from({ length: n }, (_, i) => retrying(() => client.send('kv/get', key(1000 + i)))));
    got.forEach((g, i) => expect(Buffer.from(g).toString()).toBe(`v${i}`));
  });

  it('sends a pipelined batch in one promise: answers in order, a failed message does not fail the others', async () => {
    const { id } = await client.resolve('kv');
    await client.sendBatch(id, 2, [putMsg(501, 'a'), putMsg(502, 'b')], 'host');
    const answers = await client.sendBatch(id, 1, [key(501), key(999_999), key(502)]);
    expect(Buffer.from(answers[0] as Uint8Array).toString()).toBe('a');
    expect(answers[1]).toMatchObject({ code: 'E_HANDLER', message: expect.stringMatching(/404/) });
    expect(Buffer.from(answers[2] as Uint8Array).toString()).toBe('b');
    expect(await client.sendBatch(id, 1, [])).toEqual([]);
  });

  it('replies with the handler error for a missing key', async () => {
    await expect(client.send('kv/get', key(424242))).rejects.toMatchObject({ code: 'E_HANDLER' });
  });

  it('reads the server region one-sidedly and runs remote atomics', async () => {
    const bytes = await client.readRegion('kv', 0, 0, 64);
    expect(bytes.length).toBe(64);
    const off = 1048576 - 8;
    expect(await client.atomic('kv', 0, 'ADD_U64', off, 5n)).toBe(0n);
    expect(await client.atomic('kv', 0, 'CAS_U64', off, 5n, 9n)).toBe(5n);
    expect(await client.atomic('kv', 0, 'LOAD_U32', off, 0n)).toBe(9n);
    await client.writeRegion('kv', 0, off, Buffer.alloc(8));
    expect(await client.atomic('kv', 0, 'LOAD_U32', off, 0n)).toBe(0n);
  });

  it('refuses an unknown handler and an unknown bundle with clear errors', async () => {
    await expect(client.send('kv/nope', key(1))).rejects.toMatchObject({ code: 'E_NO_HANDLER' });
    await expect(client.send('nobundle/get', key(1))).rejects.toMatchObject({ code: 'E_NO_BUNDLE' });
    await expect(client.sendRaw(0, 99, key(1))).rejects.toMatchObject({ code: 'E_NO_HANDLER' });
  });

  it('refuses a pinned dpu place when no agent is attached', async () => {
    await expect(client.send('kv/get', key(7), { place: 'dpu' })).rejects.toMatchObject({ code: 'E_PLACE_UNAVAILABLE' });
  });
});

describe('a pipelined batch when the connection drops', () => {
  it('settles once, every answer a reply or E_DISCONNECTED (nothing hangs)', async () => {
    const server = await listenWire({ host: { workers: 1 } });
    server.deploy(await kvBundle());
    const client = await connect(server.port, { clientPlace: false });
    const { id } = await client.resolve('kv');
    await client.send('kv/put', putMsg(1, 'one'), { place: 'host' });
    const batch = client.sendBatch(id, 1, Array.from({ length: 5000 }, () => key(1)), 'host');
    setImmediate(() => void server.close());
    const answers = await batch;
    expect(answers).toHaveLength(5000);
    for (const a of answers) {
      if (a instanceof Error) expect(a).toMatchObject({ code: 'E_DISCONNECTED' });
      else expect(Buffer.from(a).toString()).toBe('one');
    }
    expect(answers.some((a) => a instanceof Error)).toBe(true);
    client.close();
  });
});
