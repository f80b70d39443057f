// Regression test for the two crash-recovery symptoms in engine/places/README.md ("Known bugs"): a remote
// atomic misdecoded at the client place right after a host worker crash, and a 404 for an acknowledged
// put. Many rounds of: puts at the host and at the client place (remote CAS/stores/writes), client-place
// gets (remote reads/loads) and raw CALL frames in flight, then a host worker is crashed. Afterwards every
// raw frame got exactly one reply, every acknowledged put is readable, and its key sits in exactly one slot.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client } from '../engine/client/index.ts';
import { listenWire } from '../engine/server/wire-server.ts';
import { FrameDecoder } from '../engine/wire/decoder.ts';
import { Kind, encodeFrame } from '../engine/wire/frame.ts';
import { kvBundle, key, putMsg, retrying } from './places-helpers.ts';

const ROUNDS = 4;
const PER_ROUND = 2000;

describe('crash recovery under load (host worker crashes with remote atomics and puts in flight)', () => {
  let server: Awaited<ReturnType<typeof listenWire>>;
  let client: Client;
  let bundle: number;
  beforeAll(async () => {
    server = await listenWire({ host: { workers: 2 } });
    bundle = server.deploy(await kvBundle()).id;
    client = await connect(server.port);
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('answers every message exactly once and loses no acknowledged put over many crash rounds', async () => {
    // A raw connection: replies are counted per request id.
    const raw = net.connect(server.port, '127.0.0.1');
    await new Promise((r) => raw.once('connect', r));
    const replies = new Map<number, number>();
    const dec = new FrameDecoder(1 << 20, { frame: (f) => replies.set(f.id, (replies.get(f.id) ?? 0) + 1), oversize: () => {}, corrupt: () => {} });
    raw.on('data', (c) => dec.push(c));
    let rawId = 1;
    const acked = new Map<number, string>();
    const failures: string[] = [];

    for (let round = 0; round < ROUNDS; round++) {
      const base = 1_000_000 + round * 10_000;
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < PER_ROUND; i++) {
        const k = base + i, v = `r${round}-${i}`;
        // Puts at the client place (remote CAS, write and store on the server's table), pinned or steered
        // there by auto (which moves to the client while the host recovers), and at the host.
        const place = i % 8 === 0 ? 'host' : i % 8 === 1 ? 'client' : 'auto';
        work.push(retrying(() => client.send('kv/put', putMsg(k, v), { place })).then(
          () => acked.set(k, v),
          (e) => e.code === 'E_PLACE_LOST' || failures.push(`put ${k} at ${place}: ${e.code} ${e.message}`),
        ));
        // Client-place gets of earlier rounds' keys: remote reads and version loads.
        if (round > 0 && i % 8 === 2) {
          const old = base - 10_000 + i;
          work.push(retrying(() => client.send('kv/get', key(old), { place: 'client' })).then(
            (got) => acked.has(old) && Buffer.from(got).toString() !== acked.get(old) && failures.push(`client get ${old}: '${Buffer.from(got).toString()}'`),
            (e) => acked.has(old) && failures.push(`client get ${old}: ${e.code} ${e.message}`),
          ));
        }
        if (i % 8 === 3) raw.write(encodeFrame({ kind: Kind.CALL, place: 0, flags: 0, id: rawId++, bundle, code: 1 }, key(base - 10_000 + i)));
      }
      setImmediate(() => server.host.crashWorker(round % 2));
      await Promise.all(work);
    }
    while (replies.size < rawId - 1) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    raw.destroy();

    expect(failures).toEqual([]);
    for (let id = 1; id < rawId; id++) expect(replies.get(id), `replies to raw request ${id}`).toBe(1);
    // Every acknowledged put reads back at the host...
    const keys = [...acked.keys()];
    const got = await Promise.all(keys.map((k) => retrying(() => client.send('kv/get', key(k), { place: 'host' })).then((b) => Buffer.from(b).toString(), (e) => `${e.code} ${e.message}`)));
    const wrong = keys.filter((k, i) => got[i] !== acked.get(k)).map((k) => `${k}: ${got[keys.indexOf(k)]}`);
    expect(wrong).toEqual([]);
    // ...and sits in exactly one slot of the table (64-byte slots, key at +8; no put applied twice).
    const table = Buffer.from(await client.readRegion('kv', 0, 0, 1 << 20));
    const seen = new Map<bigint, number>();
    for (let off = 0; off < table.length; off += 64) {
      const k = table.readBigUInt64LE(off + 8);
      seen.set(k, (seen.get(k) ?? 0) + 1);
    }
    expect(keys.filter((k) => seen.get(BigInt(k)) !== 1)).toEqual([]);
    expect(keys.length).toBeGreaterThan(ROUNDS * PER_ROUND * 0.9);
  }, 120_000);
});
