import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { RoamError } from '../errors.ts';
import { CpuDevice, type CpuDeviceOptions } from './cpu/device.ts';
import type { GpuDevice } from './device.ts';
import { WebGpuDevice } from './webgpu/device.ts';

export type DeviceKind = 'cpu' | 'webgpu';

/** What `roam gpu info` reports for one kind of device. */
export interface DeviceProbe {
  kind: DeviceKind;
  available: boolean;
  /** What was found, or why nothing usable was. */
  detail: string;
}

const VULKAN_LOADERS = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1', '/usr/lib/libvulkan.so.1'];

const adapterName = (i: any): string => [i?.vendor, i?.architecture, i?.device, i?.description].filter((s: unknown) => typeof s === 'string' && s).join(' ') || 'unnamed adapter';

/**
 * Asks a short-lived child process whether Dawn finds an adapter. Dawn is loaded into this process
 * only when one exists: without a GPU, dawn.node sometimes aborts while the process exits (seen
 * here: a pthread mutex assertion at teardown), and that must not hit the engine or the tests.
 */
function probeInChild(): { found: boolean; name?: string; reason?: string } {
  let url: string;
  try {
    url = import.meta.resolve('webgpu');
  } catch {
    return { found: false, reason: `the webgpu package (Dawn's Node bindings) is not installed (it is an optional dependency; npm install webgpu)` };
  }
  const code = `import { writeSync } from 'node:fs';
let r;
try {
  const { create } = await import(${JSON.stringify(url)});
  const a = await create([]).requestAdapter({ powerPreference: 'high-performance' });
  const i = a && a.info || {};
  r = a ? { found: true, info: { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description } } : { found: false };
} catch (e) { r = { found: false, error: String(e && e.message || e).split('\\n')[0] }; }
writeSync(1, JSON.stringify(r) + '\\n');
process.exit(0);`;
  const p = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 });
  const line = p.stdout?.split('\n').find((l) => l.startsWith('{'));
  if (!line) return { found: false, reason: `the webgpu probe process gave no answer (${p.error?.message ?? `exit ${p.status ?? p.signal}`})` };
  const r = JSON.parse(line) as { found: boolean; info?: unknown; error?: string };
  if (r.error) return { found: false, reason: `the webgpu package (Dawn's Node bindings) could not be loaded: ${r.error}` };
  return r.found ? { found: true, name: adapterName(r.info) } : { found: false };
}

/**
 * Opens a WebGPU adapter through the `webgpu` package (Dawn). Returns the adapter or the reason
 * there is none. Dawn's `backend=null` adapter is never used: it exists everywhere and computes nothing.
 */
async function webgpuAdapter(): Promise<{ adapter?: any; name?: string; reason?: string }> {
  const probe = probeInChild();
  if (!probe.found) {
    if (probe.reason) return { reason: probe.reason };
    const loader = process.platform === 'linux' && !VULKAN_LOADERS.some((p) => existsSync(p)) ? ' (no Vulkan loader libvulkan.so.1 is installed)' : '';
    return { reason: `no WebGPU adapter: Dawn found no GPU with a usable Vulkan/Metal/D3D12 driver${loader}` };
  }
  let mod: any;
  try {
    mod = await import('webgpu');
  } catch (e) {
    return { reason: `the webgpu package (Dawn's Node bindings) could not be loaded: ${(e as Error).message.split('\n')[0]}` };
  }
  let adapter: any;
  try {
    const gpu = mod.create([]);
    adapter = (await gpu.requestAdapter({ powerPreference: 'high-performance' })) ?? null;
  } catch (e) {
    return { reason: `Dawn failed while looking for an adapter: ${(e as Error).message.split('\n')[0]}` };
  }
  if (!adapter) {
    const loader = process.platform === 'linux' && !VULKAN_LOADERS.some((p) => existsSync(p)) ? ' (no Vulkan loader libvulkan.so.1 is installed)' : '';
    return { reason: `no WebGPU adapter: Dawn found no GPU with a usable Vulkan/Metal/D3D12 driver${loader}` };
  }
  return { adapter, name: adapterName(adapter.info) };
}

/** Probes every device kind; never throws. */
export async function probeDevices(cpu: CpuDeviceOptions = {}): Promise<DeviceProbe[]> {
  const threads = cpu.threads ?? (await import('node:os')).availableParallelism();
  const w = await webgpuAdapter();
  return [
    { kind: 'webgpu', available: !!w.adapter, detail: w.adapter ? `adapter: ${w.name}` : w.reason! },
    { kind: 'cpu', available: true, detail: `cpu executor: built-in kernels on ${threads} worker threads (not a GPU; no user WGSL kernels)` },
  ];
}

/**
 * Opens a device. `auto` takes webgpu when an adapter exists, else cpu; naming `webgpu` where there
 * is no adapter fails with the reason.
 */
export async function openDevice(kind: DeviceKind | 'auto' = 'auto', opts: CpuDeviceOptions = {}): Promise<GpuDevice> {
  if (kind === 'cpu') return new CpuDevice(opts);
  const w = await webgpuAdapter();
  if (w.adapter) {
    const memoryBytes = opts.memoryBytes ?? 2 ** 30;
    const limits = w.adapter.limits ?? {};
    const device = await w.adapter.requestDevice({
      requiredLimits: { maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize, maxBufferSize: limits.maxBufferSize },
    });
    return new WebGpuDevice(device, w.name!, memoryBytes);
  }
  if (kind === 'webgpu') throw new RoamError('E_GPU_NO_DEVICE', `webgpu device unavailable: ${w.reason}`);
  return new CpuDevice(opts);
}
