// One gpu service per process: guests on any worker thread (as in the gateway's and the host pool's
// workers) share the main thread's device and scheduler, with no port handed to them.
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { readBundle, embedManifest } from '../engine/bundle/bundle.ts';
import { sharedGpuService, sharedGpuStats } from '../engine/gpu/bridge/client.ts';
import { reference, samples, weights } from '../functions/mlp/model.ts';
import { join } from 'node:path';
import { cachedBuild } from '../engine/build/cached-build.ts';
import { ROOT } from './helpers/build.ts';

process.env.ROAM_GPU_DEVICE = 'cpu';
process.env.ROAM_GPU_THREADS = '2';
afterAll(() => sharedGpuService().close());

function start<T>(data: Record<string, unknown>): { worker: Worker; first: Promise<T> } {
  const worker = new Worker(new URL('./gpu-threads-worker.mjs', import.meta.url), { workerData: data });
  const first = new Promise<T>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`guest thread exited with ${code} before reporting`)));
  });
  return { worker, first };
}
const thread = <T>(data: Record<string, unknown>): Promise<T> => start<T>(data).first;

/** functions/mlp under another name and gpu quota (same code, manifest rewritten); built once, cached by mtime (asc is slow). */
async function variant(name: string, share: number): Promise<Uint8Array> {
  const b = readBundle(await cachedBuild(join(ROOT, 'functions/mlp')));
  return embedManifest(b.bytes, { ...b.manifest, name, sections: { gpu: { share, memoryMiB: 16 } } });
}

const stats = async () => (await sharedGpuStats())!;

describe('one gpu service shared by every thread of the process', () => {
  it('runs three functions from three worker threads on one scheduler and device, with correct answers', async () => {
    const x = samples(4, 9);
    const calls = 30;
    const shares = { 'mlp-a': 0.5, 'mlp-b': 0.3, 'mlp-c': 0.2 };
    const results = await Promise.all(Object.entries(shares).map(async ([name, share]) =>
      thread<{ first: Uint8Array; same: boolean }>({ mode: 'mlp', bundle: await variant(name, share), input: new Uint8Array(x.buffer), calls })));
    const ref = reference(weights(), x, 4);
    for (const r of results) {
      expect(r.same).toBe(true);
      new Float32Array(r.first.slice().buffer).forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThan(1e-5));
    }
    // The worker threads asked the main thread to start the service; one scheduler saw all three.
    const st = await stats();
    expect(st.device.label).toMatch(/^cpu executor \(2 worker threads/);
    for (const [name, share] of Object.entries(shares)) {
      const f = st.scheduler.functions.find((g) => g.id === `default/${name}`)!;
      expect(f).toMatchObject({ share, completed: calls * 9, failed: 0 });
    }
    expect(st.scheduler.dispatches).toBeGreaterThanOrEqual(3 * calls * 9);
  });

  it('holds one function to one memory cap across threads, and frees a terminated thread\'s buffers', async () => {
    const first = start<{ id?: number; code?: string }>({ mode: 'alloc', fn: 'default/capped', bytes: 700 * 1024 });
    expect((await first.first).id).toBeGreaterThan(0);
    // A second thread of the same function: the 1 MiB cap already holds 700 KiB from the first.
    const second = start<{ code?: string; message?: string }>({ mode: 'alloc', fn: 'default/capped', bytes: 700 * 1024 });
    const refused = await second.first;
    expect(refused.code).toBe('E_GPU_MEMORY');
    expect(refused.message).toMatch(/function 'default\/capped' holds 716800 bytes and asked for 716800 more, over its 1 MiB/);
    const capped = async () => (await stats()).memory.find((m) => m.id === 'default/capped')!;
    expect(await capped()).toMatchObject({ liveBytes: 700 * 1024, liveBuffers: 1, refused: 1 });
    // The first thread is terminated holding its buffer (as a watchdog would): the service frees it.
    await Promise.all([first.worker.terminate(), second.worker.terminate()]);
    while ((await capped()).liveBuffers > 0) await new Promise((r) => setTimeout(r, 50));
    expect(await capped()).toMatchObject({ liveBytes: 0, liveBuffers: 0 });
    const third = start<{ id?: number }>({ mode: 'alloc', fn: 'default/capped', bytes: 700 * 1024 });
    expect((await third.first).id).toBeGreaterThan(0);
    await third.worker.terminate();
  });

  it('gives saturating functions on different threads device time in the order of their shares', async () => {
    const stop = new SharedArrayBuffer(4);
    const shares = { 'sat-a': 0.5, 'sat-b': 0.3, 'sat-c': 0.2 };
    // Two threads per function, each dispatching 448³ matmuls back to back: six threads, two device
    // slots, and kernels long against a round trip, so the device stays contended even on a loaded machine.
    const runs = Object.entries(shares).flatMap(([fn, share]) => [0, 1].map(() => thread<{ done: number }>({ mode: 'saturate', fn, share, n: 448, stop })));
    // Threads start slowly on a loaded machine: measure once every function has work running.
    const ready = (s: Awaited<ReturnType<typeof sharedGpuStats>>) => s && Object.keys(shares).every((fn) => (s.scheduler.functions.find((f) => f.id === fn)?.completed ?? 0) > 2);
    while (!ready(await sharedGpuStats())) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 500));
    const base = await stats();
    await new Promise((r) => setTimeout(r, 3000));
    const end = await stats();
    Atomics.store(new Int32Array(stop), 0, 1);
    await Promise.all(runs);
    const used = Object.keys(shares).map((fn) => {
      const at = (s: typeof end) => s.scheduler.functions.find((f) => f.id === fn)!.totalMs;
      return at(end) - at(base);
    });
    // One scheduler splits device time by share across the threads. On this loaded 2-core machine the
    // device is only partly contended (guest threads wait for cpu to resubmit), so only the ends are
    // asserted: 0.5 gets more than 0.2 (seen here: 1088/849/699, 692/424/368 ms). Exact splits: the
    // fake-device test in gpu-scheduler.test.ts and bench:gpu's end-to-end table.
    const split = `device ms a/b/c: ${used.map((u) => u.toFixed(0)).join(' / ')}`;
    expect(used[0]!, split).toBeGreaterThan(used[2]!);
    expect(end.scheduler.functions.filter((f) => f.id.startsWith('sat-')).every((f) => f.failed === 0)).toBe(true);
  });
});
