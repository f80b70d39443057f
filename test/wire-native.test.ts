// Wire connections served by native-host's roam_netio (engine/wire/native-net.ts) and by Node's sockets:
// the same answers either way; payloads that outlive a read are copied before the input buffer is reused;
// replies the kernel does not take at once are kept and sent when the reader catches up.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../engine/client/index.ts';
import { listenWire } from '../engine/server/wire-server.ts';
import { nativeNet } from '../engine/wire/native-net.ts';
import { FrameDecoder } from '../engine/wire/decoder.ts';
import { Kind, encodeFrame, type Frame } from '../engine/wire/frame.ts';
import { kvBundle, key, putMsg, retrying } from './places-helpers.ts';

const native = nativeNet();

describe.each([
  ['native (roam_netio)', true],
  ["Node's sockets", false],
])('wire connections served by %s', (_name, nativeIo) => {
  let server: Awaited<ReturnType<typeof listenWire>>;
  let bundleId = 0;
  beforeAll(async () => {
    // 8 slots per worker: a pipelined batch overflows into the host pool's backlog.
    server = await listenWire({ host: { workers: 2, slotsPerWorker: 8 }, nativeIo });
    bundleId = server.deploy(await kvBundle()).id;
  });
  afterAll(async () => {
    await server.close();
  });

  it.runIf(!nativeIo || native)('serves kv, and the connections are the kind asked for', async () => {
    const c = await connect(server.port);
    try {
      await c.send('kv/put', putMsg(7, 'seven'));
      expect(Buffer.from(await c.send('kv/get', key(7))).toString()).toBe('seven');
      expect(server.stats.nativeConnections).toBe(nativeIo ? server.stats.connections : 0);
    } finally {
      c.close();
    }
  });

  it.runIf(!nativeIo || native)('keeps every payload of a batch that waits in the backlog intact (the read buffer is reused meanwhile)', async () => {
    const c = await connect(server.port);
    const other = await connect(server.port);
    try {
      const n = 600; // far more than the 16 slots: most wait in the backlog
      const puts = Array.from({ length: n }, (_, i) => putMsg(10_000 + i, `v${i}-${'x'.repeat(i % 30)}`));
      // Meanwhile another connection keeps sending: each of its reads lands in the same input buffer.
      let busy = true;
      const noise = (async () => {
        while (busy) await other.sendBatch(bundleId, 1, Array.from({ length: 32 }, () => key(1)), 'auto');
      })();
      const done = await c.sendBatch(bundleId, 2, puts, 'host');
      busy = false;
      await noise;
      // A put that met a slot locked by the other worker's put answered "slot busy" and was not applied: re-sent.
      await Promise.all(done.map((r, i) => (r instanceof Uint8Array ? r : retrying(() => c.sendRaw(bundleId, 2, puts[i]!, 'host')))));
      const got = await Promise.all(Array.from({ length: n }, (_, i) => retrying(() => c.sendRaw(bundleId, 1, key(10_000 + i), 'host'))));
      got.forEach((r, i) => expect(Buffer.from(r.payload).toString()).toBe(`v${i}-${'x'.repeat(i % 30)}`));
    } finally {
      c.close();
      other.close();
    }
  });

  it.runIf(!nativeIo || native)('sends every queued reply to a client that half-closes after its requests, then closes', async () => {
    const s = net.connect(server.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    let frames = 0;
    const d = new FrameDecoder(1 << 24, { frame: (f) => void (f.kind === Kind.REPLY && frames++), oversize: () => {}, corrupt: () => {} });
    s.on('data', (ch) => d.push(ch));
    const closed = new Promise((r) => s.once('close', r));
    const N = 3000; // 18 MB of replies: most still queued at the server when its read sees the FIN
    s.end(Buffer.concat(Array.from({ length: N }, (_, i) => encodeFrame({ kind: Kind.FETCH_BUNDLE, place: 0, flags: 0, id: i + 1, bundle: bundleId, code: 0 }, new Uint8Array(0)))));
    await closed;
    expect(frames).toBe(N);
  });

  it.runIf(!nativeIo || native)('delivers every reply to a reader that stops reading for a while (writes queued, then drained)', async () => {
    const s = net.connect(server.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    const frames: Frame[] = [];
    const d = new FrameDecoder(1 << 24, { frame: (f) => frames.push({ ...f, payload: Buffer.from(f.payload) }), oversize: () => {}, corrupt: () => {} });
    s.pause();
    s.on('data', (ch) => d.push(ch));
    // 3000 fetches of the 6 KB bundle: 18 MB of replies, more than loopback's socket buffers hold.
    const size = (await kvBundle()).length;
    const N = 3000;
    const reqs = Array.from({ length: N }, (_, i) => encodeFrame({ kind: Kind.FETCH_BUNDLE, place: 0, flags: 0, id: i + 1, bundle: bundleId, code: 0 }, new Uint8Array(0)));
    s.write(Buffer.concat(reqs));
    const queued0 = native?.stats().queuedWrites ?? 0;
    await new Promise((r) => setTimeout(r, 300));
    if (nativeIo) expect(native!.stats().queuedWrites).toBeGreaterThan(queued0);
    s.resume();
    while (frames.length < N) await new Promise((r) => setTimeout(r, 10));
    expect(new Set(frames.map((f) => f.id)).size).toBe(N);
    for (const f of frames) {
      expect(f.kind).toBe(Kind.REPLY);
      expect(f.payload.length).toBe(size);
    }
    s.destroy();
    // and the server still serves
    const c = await connect(server.port);
    await c.send('kv/put', putMsg(8, 'eight'));
    expect(Buffer.from(await c.send('kv/get', key(8))).toString()).toBe('eight');
    c.close();
  });
});
