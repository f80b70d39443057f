// The kv bundle at the client place, its table reached over UCX instead of the wire protocol: the
// guest's own seqlock validates every read, a second client process rewrites the same keys meanwhile.
// Over shared memory (one-sided, UCX-allocated table) and TCP (owner-answered requests).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { setImmediate as tick } from 'node:timers/promises';
import { RdmaWorker, rdmaAvailable } from '../engine/rdma/worker.ts';
import type { Deployment } from '../engine/runtime/engine.ts';
import type { RemoteRegion } from '../engine/rdma/endpoint.ts';
import { bundleFile, bundleOf, ROOT } from './helpers/build.ts';
import { kvKey, kvOnMapped, kvOver } from './helpers/rdma-kv.ts';
import { hex, startPeer, unhex, type Peer } from './helpers/rdma.ts';

const why = rdmaAvailable() ? '' : 'the roam_ucx addon is not built (install libucx-dev, then npm run build:native)';
if (why && process.env.CI === 'true') throw new Error(`CI must run the rdma tests: ${why}`);

const configs = [
  { name: 'shared memory, one-sided', tls: undefined, alloc: true, mode: 'rma' },
  { name: 'TCP, owner-answered', tls: 'tcp', alloc: false, mode: 'am' },
] as const;

for (const c of configs) {
  describe.skipIf(!!why).sequential(`client-place kv over UCX, ${c.name}`, () => {
    let w: RdmaWorker, peer: Peer, kv: Deployment, remote: RemoteRegion;
    const saved = process.env.UCX_TLS;
    const env = { ...(c.tls ? { UCX_TLS: c.tls } : {}), RDMA_PEER_ALLOC: c.alloc ? '1' : '0', RDMA_PEER_SIZE: String(1 << 20) };

    beforeAll(async () => {
      if (c.tls) process.env.UCX_TLS = c.tls;
      w = RdmaWorker.open();
      peer = await startPeer(env);
      await peer.call({ op: 'fill', off: 0, len: 1 << 20, byte: 0 }); // an empty table
      const ep = w.connect({ address: unhex(peer.hello.address), pid: peer.hello.pid, host: peer.hello.host });
      remote = ep.unpack(unhex(peer.hello.key));
      expect(remote.mode).toBe(c.mode);
      kv = kvOver(remote, await bundleOf('functions/kv'));
    });

    afterAll(() => {
      if (peer && peer.child.exitCode === null) peer.child.kill('SIGKILL');
      w?.close();
      if (saved === undefined) delete process.env.UCX_TLS;
      else process.env.UCX_TLS = saved;
    });

    it('puts, gets and deletes keys', () => {
      for (let k = 100; k < 300; k++) kv.call('put', kvKey(k, new TextEncoder().encode(`value-${k}`)));
      for (let k = 100; k < 300; k++) expect(new TextDecoder().decode(kv.call('get', kvKey(k)).reply)).toBe(`value-${k}`);
      for (let k = 100; k < 300; k += 2) kv.call('del', kvKey(k));
      for (let k = 100; k < 110; k++) {
        if (k % 2) expect(new TextDecoder().decode(kv.call('get', kvKey(k)).reply)).toBe(`value-${k}`);
        else expect(() => kv.call('get', kvKey(k))).toThrow(/not found/);
      }
      expect(() => kv.call('put', kvKey(1, new Uint8Array(49)))).toThrow(/48 bytes/);
    });

    it(c.mode === 'rma' ? 'runs the guest on the mapped table as on local memory, seeing what UCX wrote' : 'cannot map a table across TCP: a clear error', async () => {
      if (c.mode !== 'rma') return void expect(() => remote.map()).toThrow(expect.objectContaining({ code: 'E_RDMA_MAP' }));
      const local = kvOnMapped(remote.map(), await bundleOf('functions/kv'));
      for (let k = 101; k < 111; k += 2) expect(new TextDecoder().decode(local.call('get', kvKey(k)).reply)).toBe(`value-${k}`);
      local.call('put', kvKey(7777, new TextEncoder().encode('mapped')));
      expect(new TextDecoder().decode(kv.call('get', kvKey(7777)).reply)).toBe('mapped'); // and the UCX path sees it
    });

    it('runs in a worker thread with its own UCX worker, as the client place\'s guest thread', async () => {
      for (let k = 500; k < 510; k++) kv.call('put', kvKey(k, new TextEncoder().encode(`thread-${k}`)));
      const boot = new URL('../engine/places/boot.mjs', import.meta.url);
      const t = new Worker(boot, {
        workerData: {
          __roamEntry: new URL('./helpers/rdma-thread.ts', import.meta.url).href,
          address: peer.hello.address, pid: peer.hello.pid, host: peer.hello.host, key: peer.hello.key,
          bundle: await bundleOf('functions/kv'), keys: Array.from({ length: 10 }, (_, i) => 500 + i),
        },
        env: { ...process.env, ...env },
      });
      const got = await new Promise<{ mode: string; values: string[] }>((resolve, reject) => { t.once('message', resolve); t.once('error', reject); });
      expect(got.mode).toBe(c.mode);
      expect(got.values).toEqual(Array.from({ length: 10 }, (_, i) => `thread-${500 + i}`));
      await t.terminate();
    });

    it('never returns a torn value while another client rewrites the same keys', async () => {
      const keys = 8, rounds = c.mode === 'rma' ? 1000 : 200;
      const writer = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/rdma-kv.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
      const lines = createInterface({ input: writer.stdout! });
      const msgs: Record<string, unknown>[] = [];
      lines.on('line', (l) => msgs.push(JSON.parse(l)));
      const d = { address: peer.hello.address, pid: peer.hello.pid, host: peer.hello.host, key: peer.hello.key, bundle: await bundleFile('functions/kv'), keys, rounds };
      writer.stdin!.write(JSON.stringify(d) + '\n');
      while (!msgs.some((m) => m.writing)) await tick();
      let gets = 0, busy = 0, missing = 0;
      const values = new Set<number>();
      while (!msgs.some((m) => m.done) && writer.exitCode === null) {
        for (let k = 1; k <= keys; k++) {
          try {
            const v = kv.call('get', kvKey(k)).reply;
            expect(v.length).toBe(48);
            expect(v.every((b) => b === v[0]), `torn value ${hex(v)}`).toBe(true);
            values.add(v[0]!);
            gets++;
          } catch (e) {
            if (/busy/.test(String(e))) busy++;
            else if (/not found/.test(String(e))) missing++;
            else throw e;
          }
        }
        await tick();
      }
      const done = msgs.find((m) => m.done) as { puts: number; busy: number } | undefined;
      expect(done, `writer exited ${writer.exitCode}`).toBeDefined();
      expect(done!.puts + done!.busy).toBe(keys * rounds);
      expect(gets).toBeGreaterThan(0);
      for (let k = 1; k <= keys; k++) expect(kv.call('get', kvKey(k)).reply[0]).toBe(rounds & 0xff); // the last round won
      console.log(`${c.name}: ${gets} gets during ${done!.puts} puts by the other client, ${values.size} distinct values seen, ${busy} busy, ${missing} before the first put`);
    });
  });
}
