// Seqlocked records (kv's slot layout) read over UCX while a writer at the owner updates them, and the
// client place's RemoteIo over UCX: shared memory one-sided, and TCP through owner-answered requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setImmediate as tick } from 'node:timers/promises';
import { RdmaWorker, rdmaAvailable } from '../engine/rdma/worker.ts';
import type { RemoteRegion } from '../engine/rdma/endpoint.ts';
import { readRecord } from '../engine/rdma/seqlock.ts';
import { rdmaRemoteIo } from '../engine/rdma/remote-io.ts';
import { AtomicOp, Kind } from '../engine/wire/frame.ts';
import { hex, startPeer, unhex, type Peer } from './helpers/rdma.ts';

const why = rdmaAvailable() ? '' : 'the roam_ucx addon is not built (install libucx-dev, then npm run build:native)';
if (why && process.env.CI === 'true') throw new Error(`CI must run the rdma tests: ${why}`);

const configs = [
  { name: 'shared memory, one-sided', tls: undefined, alloc: true, mode: 'rma' },
  { name: 'TCP, owner-answered', tls: 'tcp', alloc: false, mode: 'am' },
] as const;

for (const c of configs) {
  describe.skipIf(!!why).sequential(`seqlocked remote reads over ${c.name}`, () => {
    let w: RdmaWorker, peer: Peer, remote: RemoteRegion;
    const saved = process.env.UCX_TLS;

    beforeAll(async () => {
      if (c.tls) process.env.UCX_TLS = c.tls;
      w = RdmaWorker.open();
      peer = await startPeer({ ...(c.tls ? { UCX_TLS: c.tls } : {}), RDMA_PEER_ALLOC: c.alloc ? '1' : '0' });
      const ep = w.connect({ address: unhex(peer.hello.address), pid: peer.hello.pid, host: peer.hello.host });
      const d = w.descriptor();
      await peer.call({ op: 'connect', address: hex(d.address), pid: d.pid, host: d.host });
      remote = ep.unpack(unhex(peer.hello.key));
      expect(remote.mode).toBe(c.mode);
    });

    afterAll(() => {
      if (peer && peer.child.exitCode === null) peer.child.kill('SIGKILL');
      w?.close();
      if (saved === undefined) delete process.env.UCX_TLS;
      else process.env.UCX_TLS = saved;
    });

    it('returns only consistent records while a writer at the owner updates them, retrying torn reads', async () => {
      const round = c.mode === 'am' ? 'requests asked again' : 'client-side retries';
      await peer.call({ op: 'fill', off: 640, len: 64, byte: 0 });
      await peer.call({ op: 'writer', off: 640, n: 100000, seq: true });
      let writing = true, reads = 0, retries = 0;
      const seen = new Set<number>();
      void peer.next((m) => 'writerDone' in m).then(() => (writing = false), () => (writing = false));
      while (writing || reads < 10) {
        const r = await readRecord(remote, 640, 64);
        const v = new DataView(r.bytes.buffer).getUint32(0, true);
        expect(v % 2).toBe(0);
        const first = r.bytes[4]!;
        expect(r.bytes.subarray(4).every((b) => b === first), `torn copy ${hex(r.bytes)}`).toBe(true);
        seen.add(first);
        reads++;
        retries += r.retries;
        await tick(); // reads on shared memory complete in place: let the writer's message in
      }
      expect(reads).toBeGreaterThanOrEqual(10);
      const last = await readRecord(remote, 640, 64);
      expect(new DataView(last.bytes.buffer).getUint32(0, true)).toBe(200000); // 100000 locks and unlocks
      expect(last.bytes[4]).toBe(100000 & 0xff);
      console.log(`${c.name}: ${reads} seqlocked reads during 100000 writes, ${seen.size} distinct records seen, ${retries} ${round}`);
    });

    it('reports a record its writer keeps locked as busy instead of spinning forever', async () => {
      await peer.call({ op: 'fill', off: 704, len: 1, byte: 1 }); // version 1: held
      await expect(readRecord(remote, 704, 64)).rejects.toMatchObject({ code: 'E_RDMA_BUSY' });
    });

    it('serves the client place\'s region frames (read, write, every atomic) in place', () => {
      const io = rdmaRemoteIo([remote]);
      const p = (...parts: [number, number | bigint, 'u8' | 'u32' | 'u64'][]) => {
        const b = new Uint8Array(24);
        const dv = new DataView(b.buffer);
        for (const [off, v, t] of parts) t === 'u8' ? dv.setUint8(off, Number(v)) : t === 'u32' ? dv.setUint32(off, Number(v), true) : dv.setBigUint64(off, BigInt(v), true);
        return b;
      };
      const u64 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getBigUint64(0, true);
      const w8 = new Uint8Array(4 + 8);
      new DataView(w8.buffer).setUint32(0, 800, true);
      w8.set([1, 2, 3, 4, 5, 6, 7, 8], 4);
      expect(io(Kind.REGION_WRITE, 0, w8).length).toBe(0);
      const rp = new Uint8Array(8);
      new DataView(rp.buffer).setUint32(0, 800, true);
      new DataView(rp.buffer).setUint32(4, 8, true);
      expect([...io(Kind.REGION_READ, 0, rp)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(u64(io(Kind.REGION_ATOMIC, 0, p([0, AtomicOp.LOAD_U32, 'u8'], [4, 800, 'u32'])))).toBe(0x04030201n);
      expect(u64(io(Kind.REGION_ATOMIC, 0, p([0, AtomicOp.STORE_U32, 'u8'], [4, 800, 'u32'], [8, 10n, 'u64'])))).toBe(0x04030201n);
      expect(u64(io(Kind.REGION_ATOMIC, 0, p([0, AtomicOp.CAS_U32, 'u8'], [4, 800, 'u32'], [8, 10n, 'u64'], [16, 11n, 'u64'])))).toBe(10n);
      expect(u64(io(Kind.REGION_ATOMIC, 0, p([0, AtomicOp.ADD_U32, 'u8'], [4, 800, 'u32'], [8, 5n, 'u64'])))).toBe(11n);
      expect(u64(io(Kind.REGION_ATOMIC, 0, p([0, AtomicOp.CAS_U64, 'u8'], [4, 800, 'u32'], [8, 0x0807060500000010n, 'u64'], [16, 1n, 'u64'])))).toBe(0x0807060500000010n);
      expect(u64(io(Kind.REGION_ATOMIC, 0, p([0, AtomicOp.ADD_U64, 'u8'], [4, 800, 'u32'], [8, 2n, 'u64'])))).toBe(1n);
      expect(u64(io(Kind.REGION_ATOMIC, 0, p([0, AtomicOp.LOAD_U32, 'u8'], [4, 800, 'u32'])))).toBe(3n);
      expect(() => io(Kind.REGION_READ, 0, (() => { const b = new Uint8Array(8); new DataView(b.buffer).setUint32(0, 65530, true); new DataView(b.buffer).setUint32(4, 8, true); return b; })())).toThrow(/outside the region/);
      w.setSpin(20_000);
    });
  });
}
