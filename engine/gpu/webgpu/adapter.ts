/* eslint-disable @typescript-eslint/no-explicit-any */
import { RoamError } from '../../errors.ts';

/** What Dawn tells about an adapter (GPUAdapterInfo), as `roam gpu info` and the device report it. */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  /** Derived: a software renderer (lavapipe/llvmpipe, SwiftShader, WARP…), not a GPU. */
  software: boolean;
  /** Why `software` is what it is, in words. */
  kindReason: string;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

const SOFTWARE_NAMES = /llvmpipe|lavapipe|softpipe|swiftshader|microsoft basic render|\bwarp\b/i;

/**
 * Tells a software renderer from a hardware adapter. Dawn marks CPU implementations as fallback
 * adapters and reports architecture `software` for Mesa's llvmpipe; the names cover drivers that
 * set neither.
 */
export function classifyAdapter(i: Partial<AdapterInfo>): { software: boolean; kindReason: string } {
  if (i.isFallbackAdapter) return { software: true, kindReason: 'Dawn reports it as a fallback (CPU) adapter' };
  if (i.architecture === 'software') return { software: true, kindReason: 'its architecture is "software"' };
  const name = `${i.vendor ?? ''} ${i.device ?? ''} ${i.description ?? ''}`;
  const m = SOFTWARE_NAMES.exec(name);
  if (m) return { software: true, kindReason: `its name says ${m[0]} (a software renderer)` };
  return { software: false, kindReason: 'a hardware adapter (not a fallback adapter, no software renderer name)' };
}

export function adapterName(i: Partial<AdapterInfo>): string {
  return [i.vendor, i.architecture, i.device, i.description].filter((s) => typeof s === 'string' && s).join(' ') || 'unnamed adapter';
}

/** Reads GPUAdapterInfo and limits into plain data. */
export function describeAdapter(adapter: any): AdapterInfo {
  const i = adapter.info ?? {};
  const base = {
    vendor: String(i.vendor ?? ''), architecture: String(i.architecture ?? ''), device: String(i.device ?? ''), description: String(i.description ?? ''),
    isFallbackAdapter: !!(i.isFallbackAdapter ?? adapter.isFallbackAdapter),
    maxBufferSize: Number(adapter.limits?.maxBufferSize ?? 0), maxStorageBufferBindingSize: Number(adapter.limits?.maxStorageBufferBindingSize ?? 0),
  };
  return { ...base, ...classifyAdapter(base) };
}

/**
 * A Dawn instance, adapter and device. `instance` must stay referenced as long as the device is
 * used: it owns Dawn's native instance, and once it is garbage-collected every object made from it
 * points at freed memory (the segfault and pthread mutex assertion of issue 14). Whoever holds the
 * device holds this object.
 */
export interface DawnDevice {
  instance: any;
  adapter: any;
  device: any;
  info: AdapterInfo;
}

/** Opens Dawn's first adapter and a device on it, in this process (the device process calls this). */
export async function openDawn(): Promise<DawnDevice> {
  let mod: any;
  try {
    mod = await import('webgpu');
  } catch (e) {
    throw new RoamError('E_GPU_NO_DEVICE', `the webgpu package (Dawn's Node bindings) could not be loaded: ${(e as Error).message.split('\n')[0]}`);
  }
  const instance = mod.create([]);
  const adapter = await instance.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new RoamError('E_GPU_NO_DEVICE', 'no WebGPU adapter: Dawn found no GPU with a usable Vulkan/Metal/D3D12 driver');
  const info = describeAdapter(adapter);
  const device = await adapter.requestDevice({
    requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
  });
  return { instance, adapter, device, info };
}
