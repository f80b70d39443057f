import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { GpuService } from '../engine/gpu/bridge/client.ts';
import { reference, samples, weights } from '../functions/mlp/model.ts';
import { bundleOf } from './helpers/build.ts';

describe('one gpu shared by guests on several threads', () => {
  it('runs mlp guests on two threads against one device and scheduler, with correct answers', async () => {
    const service = new GpuService({ device: 'cpu', threads: 2 });
    try {
      const bundle = await bundleOf('functions/mlp');
      const x = samples(4, 9);
      const calls = 40;
      const results = await Promise.all([0, 1].map((i) => new Promise<{ first: Uint8Array; same: boolean }>((resolve, reject) => {
        const port = service.port();
        const w = new Worker(new URL('./gpu-threads-worker.mjs', import.meta.url), { workerData: { port, bundle, input: new Uint8Array(x.buffer), calls }, transferList: [port] });
        w.once('message', resolve);
        w.once('error', reject);
        w.once('exit', (code) => code !== 0 && reject(new Error(`guest thread ${i} exited with ${code}`)));
      })));
      const ref = reference(weights(), x, 4);
      for (const r of results) {
        expect(r.same).toBe(true);
        const p = new Float32Array(r.first.slice().buffer);
        p.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThan(1e-5));
      }
      const st = service.connect().call('stats');
      const fn = st.scheduler.functions.find((f) => f.id === 'default/mlp')!;
      // Both threads' dispatches went through the one scheduler: 2 threads × 40 calls × 9 kernels.
      expect(fn.completed).toBe(2 * calls * 9);
      expect(fn.failed).toBe(0);
      // Each thread's instance keeps its 6 weight and 10 activation buffers; nothing else is left.
      expect(st.memory.find((m) => m.id === 'default/mlp')!.liveBuffers).toBe(32);
    } finally {
      await service.close();
    }
  });
});
