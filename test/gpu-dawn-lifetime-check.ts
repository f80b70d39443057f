// Run by gpu-webgpu.test.ts with --expose-gc: opens a device the way the device process does, lets
// the opener's locals go, forces garbage collection, then computes. Prints "ok …" and exits 0, or
// crashes (the issue 14 segfault) if Dawn's instance is not kept alive by the device.
import { openDawn } from '../engine/gpu/webgpu/adapter.ts';
import { WebGpuDevice } from '../engine/gpu/webgpu/device.ts';
import { Kernel } from '../engine/gpu/kernels/table.ts';

async function open(): Promise<WebGpuDevice> {
  const d = await openDawn();
  return new WebGpuDevice(d.device, 'lifetime check', 2 ** 24, d.instance);
}

const dev = await open();
for (let i = 0; i < 5; i++) {
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 10));
}
const a = dev.createBuffer(16), b = dev.createBuffer(16), c = dev.createBuffer(16);
await dev.write(a, 0, new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer));
await dev.write(b, 0, new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer));
for (let i = 0; i < 20; i++) {
  await dev.run([{ kernel: Kernel.add, buffers: [a, b, c], params: [4, 4] }]);
  (globalThis as { gc?: () => void }).gc?.();
}
const r = new Float32Array((await dev.read(c, 0, 16)).slice().buffer);
await dev.close();
process.stdout.write(`ok ${[...r].join(',')}\n`);
process.exit(0);
