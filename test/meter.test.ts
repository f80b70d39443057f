import { beforeAll, describe, expect, it } from 'vitest';
import { Engine, readBundle, type Deployment } from '../engine/index.ts';
import { meter } from '../engine/meter/meter.ts';
import { bundleOf } from './helpers/build.ts';

describe('fuel metering rewrite', () => {
  let bytes: Uint8Array;
  let d: Deployment;
  beforeAll(async () => {
    bytes = await bundleOf('test/fixtures/features');
    d = new Engine().deploy(bytes);
  });

  it('keeps every guest valid, including SIMD, bulk memory, i64/f64 and br_table', async () => {
    for (const g of ['test/fixtures/features', 'test/fixtures/misbehave', 'functions/kv', 'functions/hello']) {
      const b = readBundle(await bundleOf(g));
      const out = meter(b.module, 16, 1000);
      expect(WebAssembly.validate(out as BufferSource), g).toBe(true);
      // Custom sections (the manifest) survive: the metered module is still a bundle.
      expect(readBundle(out).manifest.name).toBe(b.manifest.name);
    }
  });

  it('computes the same results as the unmetered module', () => {
    const simd = new DataView(d.invoke('simd', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])).buffer);
    expect([0, 4, 8, 12].map((o) => simd.getInt32(o, true))).toEqual([8, 9, 10, 11]);
    expect([...d.invoke('bulk', new Uint8Array([1, 2, 3]))]).toEqual([0xab, 0xab, 0xab, 1, 2, 3]);
    const fib = new DataView(d.invoke('fib', new Uint8Array([20])).buffer);
    expect(fib.getBigInt64(0, true)).toBe(6765n);
    expect(fib.getFloat64(8, true)).toBeCloseTo(Math.sqrt(6765));
  });

  it('charges recursion at every call: deeper recursion costs more fuel, and runs out', async () => {
    const f10 = d.call('fib', new Uint8Array([10])).fuelUsed;
    const f20 = d.call('fib', new Uint8Array([20])).fuelUsed;
    expect(f20).toBeGreaterThan(f10 * 50); // fib(20)/fib(10) calls ≈ 123x
    const tight = new Engine({ limits: { maxFuel: f20 - 1 } }).deploy(bytes);
    expect(() => tight.call('fib', new Uint8Array([20]))).toThrow(/fuel exhausted: 'fib'/);
    tight.call('fib', new Uint8Array([10])); // a fresh instance's first call also sets up its buffers
    expect(tight.call('fib', new Uint8Array([10])).fuelUsed).toBe(f10);
  });
});
