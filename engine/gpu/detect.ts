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

/**
 * Opens a WebGPU adapter through the `webgpu` package (Dawn). Returns the adapter or the reason
 * there is none. Dawn's `backend=null` adapter is never used: it exists everywhere and computes nothing.
 */
async function webgpuAdapter(): Promise<{ adapter?: any; name?: string; reason?: string }> {
  let mod: any;
  try {
    mod = await import('webgpu');
  } catch (e) {
    return { reason: `the webgpu package (Dawn's Node bindings) could not be loaded: ${(e as Error).message.split('\n')[0]} (it is an optional dependency; npm install webgpu)` };
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
  const i = adapter.info ?? {};
  const name = [i.vendor, i.architecture, i.device, i.description].filter((s: unknown) => typeof s === 'string' && s).join(' ') || 'unnamed adapter';
  return { adapter, name };
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
