// UCX between two real processes on this machine: over its shared-memory transports (a UCX-allocated
// region reached one-sided; a registered SharedArrayBuffer reached through owner-answered active
// messages) and over TCP forced with UCX_TLS=tcp.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setImmediate as tick } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { RdmaWorker, rdmaAvailable } from '../engine/rdma/worker.ts';
import type { RdmaEndpoint, RemoteRegion } from '../engine/rdma/endpoint.ts';
import type { AccessMode } from '../engine/rdma/transports.ts';
import { hex, startPeer, unhex, type Peer } from './helpers/rdma.ts';

const why = rdmaAvailable() ? '' : 'the roam_ucx addon is not built (install libucx-dev, then npm run build:native)';
if (why && process.env.CI === 'true') throw new Error(`CI must run the rdma tests: ${why}`);

interface Config { name: string; tls?: string; alloc: boolean; mode: AccessMode; lane: RegExp }
const configs: Config[] = [
  { name: 'shared memory, UCX-allocated region, one-sided', alloc: true, mode: 'rma', lane: /^(posix|sysv)\// },
  { name: 'shared memory, registered SharedArrayBuffer, owner-answered', alloc: false, mode: 'am', lane: /^(posix|sysv)\// },
  { name: 'TCP (UCX_TLS=tcp)', tls: 'tcp', alloc: false, mode: 'am', lane: /^tcp\// },
];

const code = (p: Promise<unknown>) => p.then(() => 'resolved', (e: { code?: string }) => e.code ?? String(e));

for (const c of configs) {
  describe.skipIf(!!why).sequential(`rdma over ${c.name}`, () => {
    let w: RdmaWorker, peer: Peer, ep: RdmaEndpoint, remote: RemoteRegion;
    const saved = process.env.UCX_TLS;

    beforeAll(async () => {
      if (c.tls) process.env.UCX_TLS = c.tls;
      w = RdmaWorker.open();
      peer = await startPeer({ ...(c.tls ? { UCX_TLS: c.tls } : {}), RDMA_PEER_ALLOC: c.alloc ? '1' : '0' });
      ep = w.connect({ address: unhex(peer.hello.address), pid: peer.hello.pid, host: peer.hello.host });
      const d = w.descriptor();
      await peer.call({ op: 'connect', address: hex(d.address), pid: d.pid, host: d.host });
      remote = ep.unpack(unhex(peer.hello.key));
    });

    afterAll(async () => {
      if (peer && peer.child.exitCode === null) peer.child.kill('SIGKILL');
      w?.close();
      if (saved === undefined) delete process.env.UCX_TLS;
      else process.env.UCX_TLS = saved;
    });

    it(`chooses ${c.mode} access on the transport UCX picked`, () => {
      const lanes = ep.lanes();
      expect(lanes.all.length).toBeGreaterThan(0);
      expect(lanes.am.some((t) => c.lane.test(t)), JSON.stringify(lanes)).toBe(true);
      expect(remote.mode).toBe(c.mode);
      expect(remote.length).toBe(65536);
    });

    it('reads what the owner holds and writes what the owner then sees', async () => {
      expect([...(await remote.read(0, 256))]).toEqual(Array.from({ length: 256 }, (_, i) => i));
      const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
      await remote.write(1000, bytes);
      expect((await peer.call({ op: 'read', off: 1000, len: 300 })).bytes).toBe(hex(bytes));
      await peer.call({ op: 'fill', off: 2000, len: 100, byte: 0xab });
      expect([...(await remote.read(2000, 100))]).toEqual(new Array(100).fill(0xab));
      // A read of 40 KiB crosses UCX's eager limit (rendezvous on TCP).
      const big = await remote.read(8192, 40960);
      expect(big[0]).toBe(8192 & 0xff);
      expect(big[40959]).toBe((8192 + 40959) & 0xff);
      // And a 40 KiB write (the owner receives it straight into the region when it comes by rendezvous).
      const pattern = Uint8Array.from({ length: 40960 }, (_, i) => (i * 13 + 5) & 0xff);
      await remote.write(16384, pattern);
      expect(hex(await remote.read(16384, 40960))).toBe(hex(pattern));
      expect((await peer.call({ op: 'read', off: 16384 + 40000, len: 960 })).bytes).toBe(hex(pattern.subarray(40000)));
    });

    it('refuses reads, writes and atomics outside the region or unaligned', async () => {
      expect(await code(remote.read(65536 - 4, 8))).toBe('E_RDMA_BOUNDS');
      expect(await code(remote.write(65536, new Uint8Array(1)))).toBe('E_RDMA_BOUNDS');
      expect(await code(remote.fetchAdd(4097, 1n))).toBe('E_RDMA_ALIGN');
      expect(await code(remote.read(-1, 1))).toBe('E_RDMA_BOUNDS');
    });

    it('keeps fetch-add atomic under a concurrent writer at the owner', async () => {
      await peer.call({ op: 'fill', off: 4096, len: 64, byte: 0 });
      const N = 20000, M = 2000;
      await peer.call({ op: 'writer', off: 4096, n: N, cas: false });
      const olds: bigint[] = [];
      let issued = 0;
      const lane = async () => { while (issued < M) { issued++; olds.push(await remote.fetchAdd(4096, 1n)); } };
      await Promise.all(Array.from({ length: 16 }, lane));
      await peer.next((m) => 'writerDone' in m);
      expect((await peer.call({ op: 'u64', off: 4096 })).value).toBe(String(N + M));
      expect(new Set(olds).size).toBe(M); // every fetch saw a different value: no two adds merged
    });

    it('keeps compare-and-swap increments exact under a concurrent CAS writer', async () => {
      await peer.call({ op: 'fill', off: 4160, len: 8, byte: 0 });
      const N = 5000, M = 500;
      await peer.call({ op: 'writer', off: 4160, n: N, cas: true });
      let cur = 0n, failed = 0;
      for (let done = 0; done < M; ) {
        const old = await remote.compareSwap(4160, cur, cur + 1n);
        if (old === cur) { done++; cur++; } else { failed++; cur = old; }
      }
      await peer.next((m) => 'writerDone' in m);
      expect((await peer.call({ op: 'u64', off: 4160 })).value).toBe(String(N + M));
      expect(failed).toBeGreaterThanOrEqual(0);
    });

    it('swaps and adds 64- and 32-bit words, returning the old value', async () => {
      await peer.call({ op: 'fill', off: 4224, len: 16, byte: 0 });
      expect(await remote.swap(4224, 42n)).toBe(0n);
      expect(await remote.swap(4224, 0xffff_ffff_ffff_fff0n)).toBe(42n);
      expect(await remote.fetchAdd(4224, 0x20n)).toBe(0xffff_ffff_ffff_fff0n); // wraps at 2^64
      expect((await peer.call({ op: 'u64', off: 4224 })).value).toBe('16');
      expect(await remote.fetchAdd(4232, 5n, 4)).toBe(0n);
      expect(await remote.compareSwap(4232, 5n, 9n, 4)).toBe(5n);
      expect(await remote.compareSwap(4232, 5n, 1n, 4)).toBe(9n); // no match: unchanged
      expect((await peer.call({ op: 'u64', off: 4232 })).value).toBe('9');
    });

    it('sends active messages both ways, small and rendezvous-sized', async () => {
      await peer.call({ op: 'echo', id: 7 });
      const got: { h: Uint8Array; d: Uint8Array }[] = [];
      let wake = () => {};
      w.onMessage(8, (h, d) => { got.push({ h, d }); wake(); });
      const small = Uint8Array.from({ length: 100 }, (_, i) => i);
      const large = Uint8Array.from({ length: 200 * 1024 }, (_, i) => (i * 31) & 0xff);
      await ep.send(7, new Uint8Array([1, 2, 3]), small);
      await ep.send(7, new Uint8Array([4]), large);
      while (got.length < 2) await new Promise<void>((r) => (wake = r));
      expect([...got[0]!.h]).toEqual([1, 2, 3]);
      expect([...got[0]!.d]).toEqual([...small].reverse());
      expect([...got[1]!.h]).toEqual([4]);
      expect(got[1]!.d.length).toBe(large.length);
      expect(hex(got[1]!.d)).toBe(hex(large.slice().reverse()));
    });

    it(c.alloc ? 'maps the region into this process: loads, stores and Atomics reach the owner' : 'refuses to map memory UCX cannot map here', async () => {
      if (!c.alloc) {
        expect(() => remote.map()).toThrow(/cannot map this region here/);
        return;
      }
      const sab = remote.map();
      expect(sab.byteLength).toBe(65536);
      const u8 = new Uint8Array(sab);
      expect(hex(u8.subarray(2000, 2004))).toBe(hex(await remote.read(2000, 4)));
      u8.set([9, 8, 7], 3000);
      expect((await peer.call({ op: 'read', off: 3000, len: 3 })).bytes).toBe('090807');
      await peer.call({ op: 'fill', off: 4288, len: 8, byte: 0 });
      await peer.call({ op: 'writer', off: 4288, n: 20000, cas: false });
      const a = new BigInt64Array(sab, 4288, 1);
      for (let i = 0; i < 20000; i++) Atomics.add(a, 0, 1n);
      await peer.next((m) => 'writerDone' in m);
      expect((await peer.call({ op: 'u64', off: 4288 })).value).toBe('40000');
      expect(Atomics.load(a, 0)).toBe(40000n);
    });

    if (c.mode === 'am') {
      it('refuses a deregistered region at the owner too, for a client the owner could not tell', async () => {
        const { key, index } = await peer.call({ op: 'newRegion' }) as { key: string; index: number };
        const t = new Worker(new URL('../engine/places/boot.mjs', import.meta.url), {
          workerData: { __roamEntry: new URL('./helpers/rdma-stale.ts', import.meta.url).href, address: peer.hello.address, pid: peer.hello.pid, host: peer.hello.host, key },
        });
        const next = () => new Promise<Record<string, string>>((resolve, reject) => { t.once('message', resolve); t.once('error', reject); });
        expect(await next()).toEqual({ ready: 'ok', mode: 'am' });
        expect(await peer.call({ op: 'deregister', index })).toMatchObject({ deregistered: true });
        t.postMessage('read');
        expect(await next()).toEqual({ code: 'E_RDMA_REVOKED' }); // answered by the owner's addon
        await t.terminate();
      });
    }

    it('refuses a deregistered region\'s key, at the client and when unpacked again', async () => {
      const key = unhex((await peer.call({ op: 'newRegion' })).key as string);
      const r2 = ep.unpack(key);
      expect((await r2.read(0, 4)).length).toBe(4);
      const reply = await peer.call({ op: 'deregister' });
      expect(reply).toMatchObject({ deregistered: true, unacked: 0 });
      expect(await code(remote.read(0, 8))).toBe('E_RDMA_REVOKED');
      expect(await code(remote.fetchAdd(4096, 1n))).toBe('E_RDMA_REVOKED');
      expect(() => ep.unpack(unhex(peer.hello.key))).toThrow(/revoked/);
      expect((await r2.read(0, 4)).length).toBe(4); // the other region is untouched
    });

    it('refuses a key that is not one', () => {
      expect(() => ep.unpack(new Uint8Array(10))).toThrow(/48 bytes/);
      const bad = unhex(peer.hello.key);
      bad[0] ^= 0xff;
      expect(() => ep.unpack(bad)).toThrow(/not a roam key/);
    });

    if (c.mode === 'am') {
      it('fails a request with a timeout when the owner is alive but stopped (SIGSTOP), and works again after', async () => {
        const r = ep.unpack(unhex((await peer.call({ op: 'newRegion' })).key as string));
        w.setTimeout(300);
        peer.child.kill('SIGSTOP');
        try {
          expect(await code(r.read(0, 8))).toBe('E_RDMA_TIMEOUT');
        } finally {
          peer.child.kill('SIGCONT');
          w.setTimeout(10_000);
        }
        expect((await r.read(16, 4)).length).toBe(4);
      });
    }

    it('fails requests with a clear error when the peer is killed, and does not hang', async () => {
      const key = unhex((await peer.call({ op: 'newRegion' })).key as string);
      const r = ep.unpack(key);
      const mapped = c.alloc ? new Uint8Array(r.map()) : null;
      const failure = new Promise<string>((resolve) => ep.onError((e) => resolve(e.code)));
      let reads = 0;
      const loop = (async () => {
        for (;;) { await r.read(0, 64); reads++; if (reads === 50) peer.child.kill('SIGKILL'); await tick(); }
      })();
      expect(await code(loop)).toBe('E_RDMA_PEER');
      expect(await failure).toBe('E_RDMA_PEER');
      expect(await code(r.write(0, new Uint8Array(8)))).toBe('E_RDMA_PEER');
      expect(reads).toBeGreaterThanOrEqual(50);
      await peer.exited;
      // A mapping taken before stays attached (readable, no fault) after the owner is gone and the key dropped.
      r.drop();
      if (mapped) expect(mapped.subarray(0, 64).every((x) => x === 0)).toBe(true);
    });
  });
}
