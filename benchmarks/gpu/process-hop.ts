// What running Dawn in its own process costs per call: the same device operations on a WebGpuDevice
// in this process (Dawn loaded here) and through ProcessGpuDevice (IPC to the device process).
import type { GpuDevice } from '../../engine/gpu/device.ts';
import { Kernel } from '../../engine/gpu/kernels/table.ts';
import { openDawn } from '../../engine/gpu/webgpu/adapter.ts';
import { WebGpuDevice } from '../../engine/gpu/webgpu/device.ts';
import { ProcessGpuDevice } from '../../engine/gpu/webgpu/process-device.ts';

export interface HopRow {
  op: string;
  inProcessUs: { p50: number; mean: number };
  processUs: { p50: number; mean: number };
}

async function time(d: GpuDevice, op: (d: GpuDevice, bufs: number[]) => Promise<unknown>, n: number): Promise<number[]> {
  const bufs = [d.createBuffer(4096), d.createBuffer(4096), d.createBuffer(4096)];
  for (let i = 0; i < 20; i++) await op(d, bufs); // warm-up: pipelines compiled, JIT
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await op(d, bufs);
    out.push((performance.now() - t0) * 1000);
  }
  for (const b of bufs) d.destroyBuffer(b);
  return out;
}

const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: s[Math.floor(s.length / 2)]!, mean: xs.reduce((a, b) => a + b, 0) / xs.length };
};

const OPS: Array<[string, (d: GpuDevice, b: number[]) => Promise<unknown>]> = [
  ['dispatch: add of 1024 f32 (one command buffer, wait until done)', (d, b) => d.run([{ kernel: Kernel.add, buffers: b, params: [1024, 1024] }])],
  ['upload 4 KiB', (d, b) => d.write(b[0]!, 0, new Uint8Array(4096))],
  ['download 4 KiB', (d, b) => d.read(b[2]!, 0, 4096)],
];

/** Interleaves in-process and device-process runs of each op, `rounds` times `n` calls. */
export async function processHop(n = 300, rounds = 2): Promise<HopRow[]> {
  const dawn = await openDawn();
  const local = new WebGpuDevice(dawn.device, 'in-process', 2 ** 28, dawn.instance);
  const remote = await ProcessGpuDevice.open({ memoryBytes: 2 ** 28 });
  const rows: HopRow[] = [];
  try {
    for (const [op, f] of OPS) {
      const a: number[] = [], b: number[] = [];
      for (let r = 0; r < rounds; r++) {
        a.push(...(await time(local, f, n)));
        b.push(...(await time(remote, f, n)));
      }
      rows.push({ op, inProcessUs: summary(a), processUs: summary(b) });
    }
  } finally {
    await remote.close();
    await local.close();
  }
  return rows;
}
