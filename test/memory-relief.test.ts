import { describe, expect, it } from 'vitest';
import { MemoryRelief } from '../engine/wire/memory-relief.ts';

/** Resolves once `pred` holds, checking on each turn of the event loop (no fixed sleep). */
async function until(pred: () => boolean): Promise<void> {
  while (!pred()) await new Promise((r) => setImmediate(r));
}

describe('memory relief after big connections close (engine/wire/memory-relief.ts)', () => {
  it('coalesces a crowd of requests into one collection and trim, and runs again for a later request', async () => {
    const r = new MemoryRelief(50);
    for (let i = 0; i < 10; i++) r.request();
    await until(() => r.stats.runs === 1);
    expect(r.stats.requests).toBe(10);
    r.request(); // within the gap: deferred to its end, not dropped
    r.request();
    await until(() => r.stats.runs === 2);
    expect(r.stats).toEqual({ runs: 2, requests: 12 });
  });

  it('collects garbage external to the heap (reply buffers of a closed connection)', async () => {
    const r = new MemoryRelief(0);
    let bufs: Buffer[] | null = Array.from({ length: 64 }, () => Buffer.alloc(1 << 20, 1));
    const withGarbage = process.memoryUsage().arrayBuffers;
    bufs = null;
    r.request();
    await until(() => r.stats.runs === 1);
    expect(bufs).toBeNull();
    expect(withGarbage - process.memoryUsage().arrayBuffers).toBeGreaterThanOrEqual(60 << 20);
  });
});
