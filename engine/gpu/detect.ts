import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { CpuDevice, type CpuDeviceOptions } from './cpu/device.ts';
import type { GpuDevice } from './device.ts';
import { adapterName, classifyAdapter, type AdapterInfo } from './webgpu/adapter.ts';
import { ProcessGpuDevice } from './webgpu/process-device.ts';

export type DeviceKind = 'cpu' | 'webgpu';

/** What `roam gpu info` reports for one kind of device. */
export interface DeviceProbe {
  kind: DeviceKind;
  available: boolean;
  /** What was found, or why nothing usable was. */
  detail: string;
  /** webgpu: the adapter Dawn found. */
  adapter?: AdapterInfo;
}

/** The device `auto` picks and why. */
export interface DeviceChoice {
  kind: DeviceKind;
  reason: string;
}

const VULKAN_LOADERS = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1', '/usr/lib/libvulkan.so.1'];

export interface WebGpuProbe {
  adapter?: AdapterInfo;
  reason?: string;
  /** What Dawn wrote on stderr while probing (shown by `roam gpu info --verbose`). */
  dawnLog: string[];
}

/**
 * Asks a short-lived child process whether Dawn finds an adapter, and what it is. Dawn never loads
 * into the engine's own process: the device runs in its own process too (webgpu/process-device.ts).
 */
export function probeWebGpu(): WebGpuProbe {
  let url: string;
  try {
    url = import.meta.resolve('webgpu');
  } catch {
    return { reason: `the webgpu package (Dawn's Node bindings) is not installed (it is an optional dependency; npm install webgpu)`, dawnLog: [] };
  }
  const code = `import { writeSync } from 'node:fs';
let r;
try {
  const { create } = await import(${JSON.stringify(url)});
  const gpu = create([]);
  const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  const i = a && a.info || {};
  r = a ? { found: true, info: { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, isFallbackAdapter: !!(i.isFallbackAdapter ?? a.isFallbackAdapter), maxBufferSize: a.limits.maxBufferSize, maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize } } : { found: false };
} catch (e) { r = { found: false, error: String(e && e.message || e).split('\\n')[0] }; }
writeSync(1, JSON.stringify(r) + '\\n');
process.exit(0);`;
  const p = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 });
  const dawnLog = (p.stderr ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  const line = p.stdout?.split('\n').find((l) => l.startsWith('{'));
  if (!line) return { reason: `the webgpu probe process gave no answer (${p.error?.message ?? `exit ${p.status ?? p.signal}`})`, dawnLog };
  const r = JSON.parse(line) as { found: boolean; info?: Omit<AdapterInfo, 'software' | 'kindReason'>; error?: string };
  if (r.error) return { reason: `the webgpu package (Dawn's Node bindings) could not be loaded: ${r.error}`, dawnLog };
  if (!r.found || !r.info) {
    const loader = process.platform === 'linux' && !VULKAN_LOADERS.some((f) => existsSync(f)) ? ' (no Vulkan loader libvulkan.so.1 is installed)' : '';
    return { reason: `no WebGPU adapter: Dawn found no GPU with a usable Vulkan/Metal/D3D12 driver${loader}`, dawnLog };
  }
  const info = { ...r.info, vendor: r.info.vendor ?? '', architecture: r.info.architecture ?? '', device: r.info.device ?? '', description: r.info.description ?? '' };
  return { adapter: { ...info, ...classifyAdapter(info) }, dawnLog };
}

/** Probes every device kind; never throws. */
export async function probeDevices(cpu: CpuDeviceOptions = {}, w: WebGpuProbe = probeWebGpu()): Promise<DeviceProbe[]> {
  const threads = cpu.threads ?? availableParallelism();
  const a = w.adapter;
  return [
    { kind: 'webgpu', available: !!a, detail: a ? `adapter: ${adapterName(a)} (${a.software ? 'software renderer' : 'hardware'}: ${a.kindReason})` : w.reason!, ...(a ? { adapter: a } : {}) },
    { kind: 'cpu', available: true, detail: `cpu executor: built-in kernels on ${threads} worker threads (not a GPU; no user WGSL kernels)` },
  ];
}

/**
 * What `auto` opens: a hardware adapter through webgpu; otherwise the cpu executor, which beats a
 * software renderer (llvmpipe runs WGSL on the same cores, behind Vulkan and a process hop).
 * `ROAM_GPU_DEVICE=webgpu` still opens a software adapter when asked.
 */
export function chooseDevice(webgpu: WebGpuProbe | DeviceProbe | undefined, env = process.env.ROAM_GPU_DEVICE): DeviceChoice {
  if (env === 'cpu') return { kind: 'cpu', reason: 'ROAM_GPU_DEVICE=cpu' };
  const a = webgpu?.adapter;
  if (env === 'webgpu') return { kind: 'webgpu', reason: a ? `ROAM_GPU_DEVICE=webgpu${a.software ? ' (a software renderer, asked for explicitly)' : ''}` : 'ROAM_GPU_DEVICE=webgpu (but no adapter: gpu calls will fail with E_GPU_NO_DEVICE)' };
  if (!a) return { kind: 'cpu', reason: 'no WebGPU adapter' };
  if (a.software) return { kind: 'cpu', reason: `the only WebGPU adapter is a software renderer (${a.device || a.description}); the cpu executor runs the built-in kernels on the same cores without Vulkan in between (set ROAM_GPU_DEVICE=webgpu to use it anyway)` };
  return { kind: 'webgpu', reason: `a hardware adapter (${adapterName(a)})` };
}

/**
 * Opens a device. `auto` follows chooseDevice(); naming `webgpu` where there is no adapter fails
 * with the reason. The webgpu device runs in its own process (ProcessGpuDevice).
 */
export async function openDevice(kind: DeviceKind | 'auto' = 'auto', opts: CpuDeviceOptions = {}): Promise<GpuDevice> {
  if (kind === 'cpu') return new CpuDevice(opts);
  if (kind === 'auto') {
    const choice = chooseDevice(probeWebGpu(), 'auto');
    if (choice.kind === 'cpu') return new CpuDevice(opts);
  }
  try {
    return await ProcessGpuDevice.open({ memoryBytes: opts.memoryBytes });
  } catch (e) {
    if (kind === 'auto') return new CpuDevice(opts);
    throw e;
  }
}
