import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuDevice } from '../engine/gpu/cpu/device.ts';
import { GpuHost } from '../engine/gpu/host.ts';
import { Kernel } from '../engine/gpu/kernels/table.ts';

// A deterministic generator so failures reproduce.
function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 * 2 - 1;
  }
  return out;
}
const bytes = (f: Float32Array) => new Uint8Array(f.buffer, f.byteOffset, f.byteLength);

let host: GpuHost;
const FN = 'test/device';

async function upload(f: Float32Array): Promise<number> {
  const id = host.createBuffer(FN, f.byteLength);
  await host.write(FN, id, 0, bytes(f));
  return id;
}
async function download(id: number, n: number): Promise<Float32Array> {
  const b = await host.read(FN, id, 0, n * 4);
  return new Float32Array(b.buffer, b.byteOffset, n);
}
function close(actual: Float32Array, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    if (Math.abs(actual[i]! - expected[i]!) > tol * Math.max(1, Math.abs(expected[i]!))) throw new Error(`element ${i}: ${actual[i]} != ${expected[i]}`);
  }
}

beforeAll(async () => {
  host = new GpuHost(new CpuDevice({ threads: 2 }));
  await host.ready();
  host.register(FN, { share: 1, memoryMiB: 64 });
});
afterAll(() => host.close());

describe('cpu device (real worker threads)', () => {
  it('labels itself as the cpu executor', () => {
    expect(host.device.info.kind).toBe('cpu');
    expect(host.device.info.label).toMatch(/^cpu executor/);
    expect(host.device.info.wgsl).toBe(false);
  });

  it('multiplies matrices like a float64 reference', async () => {
    const [m, k, n] = [7, 13, 5];
    const a = rand(m * k, 1), b = rand(k * n, 2);
    const [ia, ib, ic] = [await upload(a), await upload(b), host.createBuffer(FN, m * n * 4)];
    await host.dispatch(FN, Kernel.matmul, [ia, ib, ic], [m, k, n]);
    const ref = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) ref[i * n + j]! += a[i * k + p]! * b[p * n + j]!;
    close(await download(ic, m * n), ref);
  });

  it('runs elementwise ops with row broadcast, unary ops, softmax and reductions', async () => {
    const [rows, cols] = [3, 4];
    const a = rand(rows * cols, 3), bias = rand(cols, 4);
    const ia = await upload(a), ib = await upload(bias), out = host.createBuffer(FN, rows * cols * 4);
    const ops: Array<[number, (x: number, y: number) => number]> = [
      [Kernel.add, (x, y) => x + y], [Kernel.sub, (x, y) => x - y], [Kernel.mul, (x, y) => x * y],
      [Kernel.div, (x, y) => x / y], [Kernel.maximum, Math.max],
    ];
    for (const [k, f] of ops) {
      await host.dispatch(FN, k, [ia, ib, out], [rows * cols, cols]);
      close(await download(out, rows * cols), Array.from(a, (x, i) => f(x, bias[i % cols]!)));
    }
    const unary: Array<[number, (x: number) => number]> = [[Kernel.relu, (x) => Math.max(0, x)], [Kernel.sigmoid, (x) => 1 / (1 + Math.exp(-x))], [Kernel.tanh, Math.tanh], [Kernel.exp, Math.exp]];
    for (const [k, f] of unary) {
      await host.dispatch(FN, k, [ia, out], [rows * cols]);
      close(await download(out, rows * cols), Array.from(a, f));
    }
    await host.dispatch(FN, Kernel.softmax, [ia, out], [rows, cols]);
    const sm = await download(out, rows * cols);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(a.subarray(r * cols, (r + 1) * cols));
      const e = row.map((x) => Math.exp(x - Math.max(...row)));
      close(sm.subarray(r * cols, (r + 1) * cols), e.map((x) => x / e.reduce((s, y) => s + y, 0)));
    }
    const red = host.createBuffer(FN, rows * 4);
    await host.dispatch(FN, Kernel.sum, [ia, red], [rows, cols]);
    close(await download(red, rows), [0, 1, 2].map((r) => Array.from(a.subarray(r * cols, (r + 1) * cols)).reduce((s, x) => s + x, 0)));
    await host.dispatch(FN, Kernel.max, [ia, red], [rows, cols]);
    close(await download(red, rows), [0, 1, 2].map((r) => Math.max(...a.subarray(r * cols, (r + 1) * cols))));
  });

  it('runs kernels on more than one worker thread', async () => {
    const a = await upload(rand(64 * 64, 5)), b = await upload(rand(64 * 64, 6));
    const outs = [0, 1, 2, 3].map(() => host.createBuffer(FN, 64 * 64 * 4));
    const before = host.device.counters.batches;
    await Promise.all(outs.map((o) => host.dispatch(FN, Kernel.matmul, [a, b, o], [64, 64, 64])));
    expect(host.device.counters.batches).toBeGreaterThan(before);
    const [r0, r3] = [await download(outs[0]!, 16), await download(outs[3]!, 16)];
    close(r3, r0, 0);
  });
});
