import { afterEach, describe, expect, it } from 'vitest';
import { CpuDevice } from '../engine/gpu/cpu/device.ts';
import { GpuHost } from '../engine/gpu/host.ts';
import { Kernel } from '../engine/gpu/kernels/table.ts';
import type { SchedulerOptions } from '../engine/gpu/scheduler/scheduler.ts';
import { RoamError } from '../engine/errors.ts';
import { gpuMetricsText } from '../engine/gpu/metrics.ts';
import { FakeDevice } from './gpu-fake-device.ts';

let host: GpuHost | undefined;
afterEach(async () => {
  await host?.close();
  host = undefined;
});

async function makeHost(opts: SchedulerOptions = {}): Promise<GpuHost> {
  host = new GpuHost(new CpuDevice({ threads: 2, memoryBytes: 256 * 2 ** 20 }), opts);
  await host.ready();
  return host;
}

/** Buffers for an n×n matmul owned by `fn`. */
function matmulBuffers(h: GpuHost, fn: string, n: number): number[] {
  return [h.createBuffer(fn, n * n * 4), h.createBuffer(fn, n * n * 4), h.createBuffer(fn, n * n * 4)];
}

/** Keeps `depth` dispatches of `fn` outstanding until `stop()` says so. */
async function saturate(h: GpuHost, fn: string, bufs: number[], n: number, depth: number, stop: () => boolean): Promise<void> {
  await Promise.all(Array.from({ length: depth }, async () => {
    while (!stop()) await h.dispatch(fn, Kernel.matmul, bufs, [n, n, n]);
  }));
}

const codeOf = async (p: Promise<unknown> | (() => unknown)): Promise<string> => {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(RoamError);
    return `${(e as RoamError).code}: ${(e as RoamError).message}`;
  }
  return 'no error';
};

describe('gpu scheduler', () => {
  it('gives three saturating functions their 0.5/0.3/0.2 shares within 10%', async () => {
    // Fake device (4 ms of device time per dispatch): what is measured is the scheduler's split, not
    // how much cpu this machine's other load left the kernels (bench:gpu measures the real device).
    const h = (host = new GpuHost(new FakeDevice(4, 2), { windowMs: 1000 }));
    const shares = { a: 0.5, b: 0.3, c: 0.2 };
    const n = 160;
    for (const [fn, share] of Object.entries(shares)) h.register(fn, { share, memoryMiB: 16 });
    const bufs = Object.fromEntries(Object.keys(shares).map((fn) => [fn, matmulBuffers(h, fn, n)]));
    // Saturate; after a warm-up, compare the device time each function got over a 3 s interval.
    let done = false;
    const runs = Object.keys(shares).map((fn) => saturate(h, fn, bufs[fn]!, n, 6, () => done));
    await new Promise((r) => setTimeout(r, 1000));
    const base = h.scheduler.stats().functions;
    await new Promise((r) => setTimeout(r, 3000));
    const end = h.scheduler.stats().functions;
    done = true;
    await Promise.all(runs);
    const used = end.map((f, i) => f.totalMs - base[i]!.totalMs);
    const total = used.reduce((a, b) => a + b, 0);
    end.forEach((f, i) => {
      const achieved = used[i]! / total;
      expect(Math.abs(achieved - f.share) / f.share, `${f.id}: achieved ${achieved.toFixed(3)} for share ${f.share}`).toBeLessThanOrEqual(0.1);
      expect(f.failed).toBe(0);
    });
  });

  it('queues a function over its quota and refuses its overflow while others are unaffected', async () => {
    const h = await makeHost();
    // Short latency target: greedy's batches stay small, so polite never waits long for a slot.
    h.register('greedy', { share: 0.2, memoryMiB: 16, maxQueue: 64, latencyMs: 2 });
    h.register('polite', { share: 0.8, memoryMiB: 16 });
    const [n, m] = [256, 16];
    const g = matmulBuffers(h, 'greedy', n), p = matmulBuffers(h, 'polite', m);
    const flood = Array.from({ length: 100 }, () => h.dispatch('greedy', Kernel.matmul, g, [n, n, n]).then(() => 'ok', (e: RoamError) => e.code));
    let greedyQueuedAtEnd = -1;
    let left = 20;
    await Promise.all([0, 1].map(async () => {
      while (left-- > 0) await h.dispatch('polite', Kernel.matmul, p, [m, m, m]);
    }));
    greedyQueuedAtEnd = h.scheduler.stats().functions.find((f) => f.id === 'greedy')!.queued;
    const outcomes = await Promise.all(flood);
    // The polite function finished all its work while the greedy one still had work waiting.
    expect(greedyQueuedAtEnd).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o === 'E_GPU_QUEUE_FULL').length).toBeGreaterThan(0);
    expect(outcomes.every((o) => o === 'ok' || o === 'E_GPU_QUEUE_FULL')).toBe(true);
    const st = h.scheduler.stats().functions;
    expect(st.find((f) => f.id === 'polite')).toMatchObject({ completed: 20, failed: 0, refused: 0 });
    expect(st.find((f) => f.id === 'greedy')!.refused).toBeGreaterThan(0);
    await expect(h.dispatch('greedy', Kernel.matmul, g, [n, n, n])).resolves.toBeUndefined();
    expect(await codeOf(Promise.all(Array.from({ length: 80 }, () => h.dispatch('greedy', Kernel.matmul, g, [n, n, n]))))).toMatch(/^E_GPU_QUEUE_FULL: function 'greedy' already has 64 gpu dispatches queued \(over its 0.2 share under load\); refusing more/);
  });

  it('is work-conserving: a lone function runs past its share when nobody else waits', async () => {
    const h = await makeHost({ windowMs: 400 });
    h.register('lone', { share: 0.01, memoryMiB: 16 });
    const n = 160;
    const b = matmulBuffers(h, 'lone', n);
    let over = false;
    await saturate(h, 'lone', b, n, 4, () => (over ||= h.scheduler.stats().functions[0]!.overQuota) || h.scheduler.stats().dispatches > 5000);
    expect(over).toBe(true);
  });

  it('holds a function to its share when work conservation is off', async () => {
    // Fake device: 10 ms of device time per dispatch whatever the machine's load, so the cap is exact.
    const dev = new FakeDevice(10, 2);
    const h = (host = new GpuHost(dev, { windowMs: 300, workConserving: false }));
    h.register('capped', { share: 0.5, memoryMiB: 16 });
    const b = [h.createBuffer('capped', 64), h.createBuffer('capped', 64), h.createBuffer('capped', 64)];
    let maxUsed = 0;
    let count = 0;
    await Promise.all([0, 1, 2, 3].map(async () => {
      while (count++ < 150) {
        await h.dispatch('capped', Kernel.add, b, [4, 4]);
        maxUsed = Math.max(maxUsed, h.scheduler.stats().functions[0]!.usedMs);
      }
    }));
    const cap = 0.5 * 300 * 2;
    // 150 dispatches are 1500 ms of device time, five windows' worth of its share: it reached the cap
    // and went past it by at most what was already launched (a batch of up to 4 dispatches).
    expect(h.scheduler.stats().functions[0]!.completed).toBeGreaterThanOrEqual(150);
    expect(maxUsed).toBeGreaterThanOrEqual(cap * 0.9);
    expect(maxUsed).toBeLessThanOrEqual(cap + 4 * 10);
  });

  it('batches one function\'s concurrent same-shape dispatches, with correct results', async () => {
    const h = await makeHost();
    h.register('x', { share: 0.5, memoryMiB: 16, latencyMs: 1000 });
    const n = 4096;
    const ones = h.createBuffer('x', n * 4);
    await h.write('x', ones, 0, new Uint8Array(new Float32Array(n).fill(1).buffer));
    const ins = Array.from({ length: 24 }, () => h.createBuffer('x', n * 4));
    const outs = Array.from({ length: 24 }, () => h.createBuffer('x', n * 4));
    await Promise.all(ins.map((b, i) => h.write('x', b, 0, new Uint8Array(new Float32Array(n).fill(i).buffer))));
    await h.dispatch('x', Kernel.add, [ins[0]!, ones, outs[0]!], [n, n]); // learns the kernel's time
    const before = h.scheduler.stats();
    await Promise.all(ins.map((b, i) => h.dispatch('x', Kernel.add, [b, ones, outs[i]!], [n, n])));
    const after = h.scheduler.stats();
    expect(after.dispatches - before.dispatches).toBe(24);
    expect(after.batches - before.batches).toBeLessThan(24);
    for (let i = 0; i < 24; i++) expect(new Float32Array((await h.read('x', outs[i]!, 0, n * 4)).buffer)).toEqual(new Float32Array(n).fill(i + 1));
  });

  it('bounds a batch by the function\'s latency target and never mixes functions or shapes', async () => {
    // 30 ms of device time per dispatch, latency target 100 ms: at most 3 fit (fewer if the oldest waited).
    const dev = new FakeDevice(30, 1);
    const h = (host = new GpuHost(dev));
    h.register('t', { share: 0.5, memoryMiB: 16, latencyMs: 100 });
    h.register('u', { share: 0.5, memoryMiB: 16, latencyMs: 10_000 });
    const bt = [h.createBuffer('t', 64), h.createBuffer('t', 64), h.createBuffer('t', 64)];
    const bu = [h.createBuffer('u', 64), h.createBuffer('u', 64), h.createBuffer('u', 64)];
    await h.dispatch('t', Kernel.add, bt, [4, 4]);
    dev.runs.length = 0;
    await Promise.all([
      ...Array.from({ length: 12 }, () => h.dispatch('t', Kernel.add, bt, [4, 4])),
      ...Array.from({ length: 12 }, (_, i) => h.dispatch('u', Kernel.add, bu, i % 2 ? [4, 4] : [2, 8])),
    ]);
    const owner = (d: { buffers: number[] }) => (bt.includes(d.buffers[0]!) ? 't' : 'u');
    for (const batch of dev.runs) {
      expect(new Set(batch.map(owner)).size).toBe(1);
      expect(new Set(batch.map((d) => d.params.join('x'))).size).toBe(1);
      if (owner(batch[0]!) === 't') expect(batch.length).toBeLessThanOrEqual(3);
    }
    expect(dev.runs.filter((b) => owner(b[0]!) === 'u').some((b) => b.length > 3)).toBe(true);
    expect(dev.runs.flat().length).toBe(24);
  });

  it('does not batch a function whose oldest dispatch has already waited past its latency target', async () => {
    const dev = new FakeDevice(5, 1);
    const h = (host = new GpuHost(dev));
    h.register('strict', { share: 0.5, memoryMiB: 16, latencyMs: 1e-6 });
    const bs = [h.createBuffer('strict', 64), h.createBuffer('strict', 64), h.createBuffer('strict', 64)];
    await Promise.all(Array.from({ length: 16 }, () => h.dispatch('strict', Kernel.add, bs, [4, 4])));
    expect(dev.runs.map((b) => b.length)).toEqual(Array(16).fill(1));
  });

  it('runs plain first-come-first-served one dispatch at a time as the baseline policy', async () => {
    const h = await makeHost({ policy: 'fcfs' });
    h.register('f', { share: 0.5, memoryMiB: 16 });
    const b = [h.createBuffer('f', 4096), h.createBuffer('f', 4096), h.createBuffer('f', 4096)];
    await Promise.all(Array.from({ length: 20 }, () => h.dispatch('f', Kernel.add, b, [1024, 1024])));
    const st = h.scheduler.stats();
    expect(st.batches).toBe(20);
    expect(st.policy).toBe('fcfs');
  });
});

describe('gpu bad input', () => {
  it('refuses out-of-range dispatches, foreign buffers and bad transfers with clear errors, without failing others', async () => {
    const h = await makeHost();
    h.register('bad', { share: 0.5, memoryMiB: 16 });
    h.register('good', { share: 0.5, memoryMiB: 16 });
    const n = 64;
    const good = matmulBuffers(h, 'good', n);
    let stop = false;
    const load = saturate(h, 'good', good, n, 4, () => stop);
    const small = h.createBuffer('bad', 64);
    const big = h.createBuffer('bad', 4096);
    expect(await codeOf(h.dispatch('bad', Kernel.matmul, [small, big, big], [8, 8, 8]))).toMatch(/^E_GPU_KERNEL: kernel matmul: the output buffer must not also be an input/);
    const out = h.createBuffer('bad', 4096);
    expect(await codeOf(h.dispatch('bad', Kernel.matmul, [small, big, out], [8, 8, 8]))).toMatch(/^E_GPU_BOUNDS: kernel matmul: buffer 0 holds 64 bytes but \(m, k, n\) = \(8, 8, 8\) needs 256/);
    expect(await codeOf(h.dispatch('bad', Kernel.add, [big, big, good[0]!], [16, 16]))).toMatch(/^E_GPU_BUFFER: gpu buffer \d+ belongs to another function/);
    expect(await codeOf(h.dispatch('bad', Kernel.add, [big, big, 99999], [16, 16]))).toMatch(/^E_GPU_BUFFER: gpu buffer 99999 does not exist/);
    expect(await codeOf(h.dispatch('bad', 777, [big], [1]))).toMatch(/^E_GPU_KERNEL: unknown kernel id 777/);
    expect(await codeOf(h.dispatch('bad', Kernel.softmax, [big, out], [0, 4]))).toMatch(/^E_GPU_KERNEL: kernel softmax: rows = 0/);
    expect(await codeOf(h.dispatch('bad', Kernel.relu, [big, out], [2 ** 30]))).toMatch(/^E_GPU_KERNEL/);
    expect(await codeOf(h.write('bad', small, 60, new Uint8Array(8)))).toMatch(/^E_GPU_BOUNDS: gpu upload out of range: buffer \d+ holds 64 bytes, asked for 8 at offset 60/);
    expect(await codeOf(h.read('bad', small, -1, 4))).toMatch(/^E_GPU_BOUNDS: gpu download out of range/);
    stop = true;
    await load;
    const st = h.scheduler.stats().functions.find((f) => f.id === 'good')!;
    expect(st.failed).toBe(0);
    expect(st.completed).toBeGreaterThan(0);
  });

  it('refuses a buffer over the function\'s memory cap and lets other functions allocate', async () => {
    const h = await makeHost();
    h.register('small', { share: 0.5, memoryMiB: 1 });
    h.register('other', { share: 0.5, memoryMiB: 8 });
    expect(await codeOf(() => h.createBuffer('small', 2 * 2 ** 20))).toMatch(/^E_GPU_MEMORY: gpu memory cap: function 'small' holds 0 bytes and asked for 2097152 more, over its 1 MiB/);
    const a = h.createBuffer('small', 768 * 1024);
    expect(await codeOf(() => h.createBuffer('small', 512 * 1024))).toMatch(/^E_GPU_MEMORY: gpu memory cap: function 'small' holds 786432 bytes/);
    h.destroyBuffer('small', a);
    expect(h.createBuffer('small', 512 * 1024)).toBeGreaterThan(0);
    const o = [h.createBuffer('other', 4 * 2 ** 20), h.createBuffer('other', 4096), h.createBuffer('other', 4096)];
    await h.dispatch('other', Kernel.add, [o[1]!, o[1]!, o[2]!], [1024, 1024]);
    expect(await codeOf(() => h.createBuffer('small', 0))).toMatch(/^E_GPU_ARG/);
    expect(h.stats().memory.find((m) => m.id === 'small')!.refused).toBe(2);
  });

  it('rejects a malformed WGSL kernel with a clear error, and well-formed WGSL on the cpu device as unsupported', async () => {
    const h = await makeHost();
    h.register('w', { share: 1, memoryMiB: 1 });
    expect(await codeOf(h.compile('w', '@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3<u32>) { x[id.x] = 1.0;', 'main', 1))).toMatch(/^E_GPU_WGSL: malformed WGSL kernel: '\{' opened on line 1 is never closed/);
    expect(await codeOf(h.compile('w', 'fn helper() {}', 'main', 1))).toMatch(/^E_GPU_WGSL: malformed WGSL kernel: no @compute function named 'main'/);
    const ok = '@group(0) @binding(0) var<storage, read_write> x: array<f32>;\n@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3<u32>) { x[id.x] = x[id.x] * 2.0; }';
    expect(await codeOf(h.compile('w', ok, 'main', 1))).toMatch(/^E_GPU_UNSUPPORTED: user WGSL kernels need the webgpu device/);
    expect(await codeOf(h.dispatch('w', 1000, [], [1, 1, 1]))).toMatch(/^E_GPU_KERNEL: kernel wgsl#1000 was not compiled by function 'w'/);
  });

  it('leaks no device memory after many invocations, failed ones included', async () => {
    const h = await makeHost();
    const fns = ['l1', 'l2', 'l3'];
    for (const fn of fns) h.register(fn, { share: 1 / 3, memoryMiB: 4 });
    const base = { ...h.device.counters };
    const input = new Float32Array(256).fill(0.5);
    await Promise.all(fns.map(async (fn) => {
      for (let i = 0; i < 150; i++) {
        const a = h.createBuffer(fn, 1024), b = h.createBuffer(fn, 1024), c = h.createBuffer(fn, 1024);
        await h.write(fn, a, 0, new Uint8Array(input.buffer));
        await h.dispatch(fn, Kernel.mul, [a, a, b], [256, 256]);
        await h.dispatch(fn, Kernel.softmax, [b, c], [16, 16]);
        if (i % 10 === 0) await h.dispatch(fn, Kernel.matmul, [a, b, c], [64, 64, 64]).catch(() => {});
        await h.read(fn, c, 0, 1024);
        for (const id of [a, b, c]) h.destroyBuffer(fn, id);
      }
    }));
    const c = h.device.counters;
    expect(c.liveBuffers).toBe(base.liveBuffers);
    expect(c.liveBytes).toBe(base.liveBytes);
    expect(c.buffersCreated - base.buffersCreated).toBe(3 * 150 * 3);
    expect(c.buffersDestroyed - base.buffersDestroyed).toBe(3 * 150 * 3);
    for (const m of h.stats().memory) expect(m).toMatchObject({ liveBytes: 0, liveBuffers: 0 });
    const metrics = await gpuMetricsText(h.stats());
    expect(metrics).toMatch(/^roam_gpu_live_buffers 0$/m);
    expect(metrics).toMatch(/^roam_gpu_device_info\{kind="cpu",name="cpu executor[^"]*"\} 1$/m);
    expect(metrics).toMatch(/^roam_gpu_dispatches_completed_total\{tenant="",bundle="l1"\} 300$/m);
    expect(metrics).toMatch(/^roam_gpu_dispatch_duration_seconds_count\{tenant="",bundle="l1"\} 300$/m);
  });
});
