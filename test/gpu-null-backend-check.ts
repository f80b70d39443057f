// Run by gpu-webgpu.test.ts in a child process: drives the webgpu device on Dawn's null backend
// and prints one JSON line {ok, detail}. See the test for why it is a separate process.
import { writeSync } from 'node:fs';
import { GpuHost } from '../engine/gpu/host.ts';
import { KERNELS } from '../engine/gpu/kernels/table.ts';
import { WebGpuDevice } from '../engine/gpu/webgpu/device.ts';
import { isRoamError } from '../engine/errors.ts';

const report = (ok: boolean, detail: string): never => {
  writeSync(1, JSON.stringify({ ok, detail }) + '\n');
  process.exit(0);
};

let nul: any;
// Held for the whole run: Dawn frees everything made from an instance that is garbage-collected.
let instance: any;
try {
  const { create } = (await import('webgpu')) as any;
  instance = create(['backend=null']);
  nul = await instance.requestAdapter();
} catch (e) {
  report(true, `SKIP: the webgpu package could not be loaded: ${(e as Error).message.split('\n')[0]}`);
}
if (!nul) report(true, 'SKIP: Dawn has no null adapter here');

try {
  const h = new GpuHost(new WebGpuDevice(await nul.requestDevice(), 'Dawn null backend', 2 ** 26, instance));
  h.register('t', { share: 1, memoryMiB: 16 });
  const [a, b, c] = [h.createBuffer('t', 4096), h.createBuffer('t', 4096), h.createBuffer('t', 4096)];
  await h.write('t', a, 2, new Uint8Array([1, 2, 3])); // unaligned: exercises read-modify-write
  if ((await h.read('t', a, 1, 5)).length !== 5) report(false, 'read returned the wrong length');
  for (const k of KERNELS.values()) await h.dispatch('t', k.id, k.buffers === 3 ? [a, b, c] : [a, c], k.params.map(() => 8));
  try {
    await h.compile('t', '@compute @workgroup_size(64) fn main() { let x: f32 = nope; }', 'main', 1);
    report(false, 'malformed WGSL compiled');
  } catch (e) {
    if (!isRoamError(e) || e.code !== 'E_GPU_WGSL' || !/^WGSL kernel does not compile: line 1:\d+: unresolved value 'nope'/.test(e.message)) report(false, `unexpected WGSL error: ${(e as Error).message}`);
  }
  const k = await h.compile('t', '@group(0) @binding(0) var<storage, read_write> x: array<f32>;\n@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3<u32>) { if (id.x < arrayLength(&x)) { x[id.x] = x[id.x] * 2.0; } }', 'main', 1);
  await h.dispatch('t', k, [a], [1, 1, 1]);
  await h.close();
  const cn = h.device.counters;
  if (cn.liveBuffers !== 0 || cn.liveBytes !== 0 || cn.buffersCreated !== 3 || cn.buffersDestroyed !== 3) report(false, `buffers left: ${JSON.stringify(cn)}`);
  report(true, 'all checks passed');
} catch (e) {
  report(false, `failed: ${(e as Error).message}`);
}
