// Runtime gpu quotas (HAS-GPU's vertical scaling): a function's share, memory cap and latency
// target change while it runs, without a redeploy.
import { afterEach, describe, expect, it } from 'vitest';
import { GpuHost } from '../engine/gpu/host.ts';
import { Kernel } from '../engine/gpu/kernels/table.ts';
import { parseGpuQuota } from '../engine/gpu/quota.ts';
import { RoamError } from '../engine/errors.ts';
import { FakeDevice } from './gpu-fake-device.ts';

let host: GpuHost | undefined;
afterEach(async () => {
  await host?.close();
  host = undefined;
});

/**
 * Keeps three functions saturated and calls `at(completed)` after every completion; phases are
 * defined by completion counts (and, for "a window has passed", by the clock read at a completion),
 * never by sleeping.
 */
function load(h: GpuHost, fns: string[], bufs: Record<string, number[]>, depth: number, onDone: (fn: string) => void, stop: () => boolean): Promise<void[]> {
  return Promise.all(fns.flatMap((fn) => Array.from({ length: depth }, async () => {
    while (!stop()) {
      await h.dispatch(fn, Kernel.add, bufs[fn]!, [64, 64]);
      onDone(fn);
    }
  })));
}

describe('runtime gpu quotas', () => {
  it('moves achieved shares from 0.5/0.3/0.2 to 0.2/0.3/0.5 within one window of a change, under load', async () => {
    // Fake device (5 ms of device time per dispatch, 2 slots): what is measured is the scheduler's
    // split, not how much cpu the machine's other load left.
    const windowMs = 400;
    const h = (host = new GpuHost(new FakeDevice(5, 2), { windowMs, maxBatch: 1 }));
    const fns = ['a', 'b', 'c'];
    const before = { a: 0.5, b: 0.3, c: 0.2 };
    const after = { a: 0.2, b: 0.3, c: 0.5 };
    const bufs: Record<string, number[]> = {};
    for (const fn of fns) {
      h.register(fn, { share: before[fn as 'a'], memoryMiB: 1 });
      bufs[fn] = [h.createBuffer(fn, 256), h.createBuffer(fn, 256), h.createBuffer(fn, 256)];
    }
    const busy = () => Object.fromEntries(h.scheduler.stats().functions.map((f) => [f.id, f.totalMs]));
    const split = (from: Record<string, number>, to: Record<string, number>) => {
      const d = fns.map((f) => to[f]! - from[f]!);
      const total = d.reduce((x, y) => x + y, 0);
      return Object.fromEntries(fns.map((f, i) => [f, d[i]! / total]));
    };
    // Phases: warm up 300 completions; measure 900; change; let one window pass; measure 900.
    let n = 0;
    let stopped = false;
    let phase = 'warm';
    let mark = busy();
    let changedAt = 0;
    const measured: Array<Record<string, number>> = [];
    let running: Promise<void[]> | undefined;
    const done = new Promise<void>((resolve) => {
      const onDone = () => {
        n++;
        if (phase === 'warm' && n >= 300) [phase, n, mark] = ['before', 0, busy()];
        else if (phase === 'before' && n >= 900) {
          measured.push(split(mark, busy()));
          for (const [fn, share] of Object.entries(after)) expect(h.setQuota(fn, { share })).toMatchObject({ share });
          [phase, changedAt] = ['settle', performance.now()];
        } else if (phase === 'settle' && performance.now() - changedAt >= windowMs) [phase, n, mark] = ['after', 0, busy()];
        else if (phase === 'after' && n >= 2000) {
          measured.push(split(mark, busy()));
          stopped = true;
          resolve();
        }
      };
      running = load(h, fns, bufs, 6, onDone, () => stopped);
    });
    await done;
    await running;
    console.log(`[gpu-quota.test] achieved before ${JSON.stringify(measured[0])}, after ${JSON.stringify(measured[1])}`);
    const [b, a] = measured as [Record<string, number>, Record<string, number>];
    for (const fn of fns) {
      expect(Math.abs(b[fn]! - before[fn as 'a']), `before the change, ${fn} got ${b[fn]!.toFixed(3)} for ${before[fn as 'a']}`).toBeLessThanOrEqual(0.05);
      expect(Math.abs(a[fn]! - after[fn as 'a']), `after the change, ${fn} got ${a[fn]!.toFixed(3)} for ${after[fn as 'a']}`).toBeLessThanOrEqual(0.05);
    }
    expect(h.scheduler.stats().functions.map((f) => f.share)).toEqual([0.2, 0.3, 0.5]);
  });

  it('keeps a runtime quota when new instances register the manifest\'s, and sets one for a function not seen yet', async () => {
    const h = (host = new GpuHost(new FakeDevice(1, 1)));
    h.register('f', { share: 0.5, memoryMiB: 4, latencyMs: 20 });
    expect(h.setQuota('f', { share: 0.25, latencyMs: 7 })).toEqual({ share: 0.25, latencyMs: 7, memoryMiB: 4 });
    h.register('f', { share: 0.5, memoryMiB: 4, latencyMs: 20 }); // a new instance of the same function
    expect(h.scheduler.stats().functions[0]).toMatchObject({ share: 0.25, latencyMs: 7 });
    h.setQuota('later', { share: 0.1 });
    h.register('later', { share: 0.9, memoryMiB: 1 });
    expect(h.scheduler.stats().functions.find((f) => f.id === 'later')).toMatchObject({ share: 0.1 });
  });

  it('applies a new memory cap to the next allocation and frees nothing already held', async () => {
    const h = (host = new GpuHost(new FakeDevice(1, 1)));
    h.register('f', { share: 1, memoryMiB: 4 });
    const a = h.createBuffer('f', 3 * 2 ** 20);
    h.setQuota('f', { memoryMiB: 2 });
    expect(() => h.createBuffer('f', 4096)).toThrow(expect.objectContaining({ code: 'E_GPU_MEMORY' }));
    expect(h.device.bufferBytes(a)).toBe(3 * 2 ** 20);
    h.setQuota('f', { memoryMiB: 8 });
    expect(h.createBuffer('f', 4 * 2 ** 20)).toBeGreaterThan(0);
  });

  it('refuses bad quotas with the field named and leaves the old one in force', async () => {
    const h = (host = new GpuHost(new FakeDevice(1, 1)));
    h.register('f', { share: 0.5, memoryMiB: 4 });
    for (const bad of [{ share: 0 }, { share: 1.5 }, { share: Number.NaN }, { latencyMs: -1 }, { memoryMiB: 0 }, { latencyMs: 1e9 }]) {
      expect(() => h.setQuota('f', bad), JSON.stringify(bad)).toThrow(RoamError);
    }
    expect(h.scheduler.stats().functions[0]).toMatchObject({ share: 0.5, latencyMs: 20 });
  });
});

describe('the control API\'s quota body', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  it('accepts any of share, memoryMiB, latencyMs', () => {
    expect(parseGpuQuota('t/f', enc('{"share":0.3,"memoryMiB":64,"latencyMs":20}'))).toEqual({ share: 0.3, memoryMiB: 64, latencyMs: 20 });
    expect(parseGpuQuota('t/f', enc('{"latencyMs":5}'))).toEqual({ latencyMs: 5 });
  });
  it('refuses non-JSON, non-objects, empty, unknown fields, out-of-range values and oversized bodies as E_BAD_REQUEST', () => {
    const bad = ['nope', '[1]', 'null', '{}', '{"share":0.3,"weight":2}', '{"share":"0.3"}', '{"share":2}', '{"memoryMiB":-4}', '{"latencyMs":0}', `{"share":0.1${' '.repeat(2000)}}`];
    for (const b of bad) {
      try {
        parseGpuQuota('t/f', enc(b));
        expect.fail(`accepted ${b.slice(0, 40)}`);
      } catch (e) {
        expect((e as RoamError).code, b.slice(0, 40)).toBe('E_BAD_REQUEST');
      }
    }
  });
});
