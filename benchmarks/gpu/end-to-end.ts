// End to end: three mlp bundles (shares 0.5/0.3/0.2) deployed in guest threads, every call going
// through the engine, roam:gpu and the gpu service. Used by run.ts.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { buildProject } from '../../engine/build/assemblyscript.ts';
import { sharedGpuService } from '../../engine/gpu/bridge/client.ts';
import { samples } from '../../functions/mlp/model.ts';

const ROOT = join(import.meta.dirname, '../..');
export const SHARES = { 'mlp-a': 0.5, 'mlp-b': 0.3, 'mlp-c': 0.2 } as const;

/** Builds functions/mlp under three names, each with its own gpu share. */
export async function buildVariants(): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for (const [name, share] of Object.entries(SHARES)) {
    const dir = mkdtempSync(join(tmpdir(), `roam-${name}-`));
    cpSync(join(ROOT, 'functions/mlp/assembly'), join(dir, 'assembly'), { recursive: true });
    const manifest = JSON.parse(readFileSync(join(ROOT, 'functions/mlp/roam.json'), 'utf8'));
    writeFileSync(join(dir, 'roam.json'), JSON.stringify({ ...manifest, name, gpu: { share, memoryMiB: 16 } }));
    out[name] = (await buildProject(dir, { outFile: join(dir, `${name}.wasm`) })).bytes;
  }
  return out;
}

export interface E2eResult {
  callsPerSec: number;
  fns: Array<{ id: string; share: number; achieved: number; calls: number; p99: number }>;
  avgBatch: number;
  /** Device busy time over capacity in the last window. */
  utilization: number;
}

/** Runs `threads` guest threads per function for `seconds` against one service with `policy`. */
export async function endToEnd(bundles: Record<string, Uint8Array>, policy: 'share' | 'fcfs', seconds: number, threads: number, rows: number, device: 'cpu' | 'webgpu' | 'auto' = 'cpu'): Promise<E2eResult> {
  // The process-wide service: guest threads reach it over the process channel, as gateway workers do.
  const service = sharedGpuService({ device, policy, windowMs: 1000 });
  const stop = new SharedArrayBuffer(4);
  const flag = new Int32Array(stop);
  const input = new Uint8Array(samples(rows).buffer);
  const ready: Promise<void>[] = [];
  const runs = Object.entries(bundles).flatMap(([name, bundle]) => Array.from({ length: threads }, () => {
    const w = new Worker(new URL('./guest-thread.mjs', import.meta.url), { workerData: { bundle, input, stop } });
    ready.push(new Promise((resolve, reject) => (w.once('message', () => resolve()), w.once('error', reject))));
    return new Promise<{ name: string; lat: number[] }>((resolve, reject) => {
      w.on('message', (m: { lat?: number[] }) => m.lat && resolve({ name, lat: m.lat }));
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`guest thread for ${name} exited (code ${code}) before reporting`)));
    });
  }));
  // Every thread started and made its first call (slow on a loaded machine), then a second to settle.
  await Promise.all(ready);
  await new Promise((r) => setTimeout(r, 1000));
  const base = await service.stats();
  Atomics.store(flag, 0, 1);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const st = await service.stats();
  const elapsed = (performance.now() - t0) / 1000;
  Atomics.store(flag, 0, 2);
  const results = await Promise.all(runs);
  await service.close();
  const used = Object.keys(bundles).map((n) => {
    const id = `default/${n}`;
    return st.scheduler.functions.find((f) => f.id === id)!.totalMs - (base.scheduler.functions.find((f) => f.id === id)?.totalMs ?? 0);
  });
  const total = used.reduce((s, x) => s + x, 0);
  const fns = Object.keys(bundles).map((n, i) => {
    const lat = results.filter((r) => r.name === n).flatMap((r) => r.lat).sort((a, b) => a - b);
    return { id: n, share: SHARES[n as keyof typeof SHARES], achieved: used[i]! / total, calls: lat.length, p99: lat[Math.floor(lat.length * 0.99)] ?? 0 };
  });
  return {
    callsPerSec: fns.reduce((s, f) => s + f.calls, 0) / elapsed,
    fns,
    utilization: st.scheduler.utilization,
    avgBatch: (st.scheduler.dispatches - base.scheduler.dispatches) / Math.max(1, st.scheduler.batches - base.scheduler.batches),
  };
}
