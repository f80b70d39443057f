import type { DeviceDispatch } from '../device.ts';
import type { AdapterInfo } from './adapter.ts';

/**
 * Messages between the gpu service and the webgpu device process (process-device.ts ↔
 * device-process.ts), over the child's IPC channel with Node's advanced serialization (typed arrays
 * travel as bytes). Buffer and kernel ids are the parent's; the child maps them to its own.
 */
export type ToDevice =
  | { op: 'create'; id: number; bytes: number }
  | { op: 'destroy'; id: number }
  | { op: 'write'; seq: number; id: number; offset: number; data: Uint8Array }
  | { op: 'read'; seq: number; id: number; offset: number; len: number }
  | { op: 'compile'; seq: number; kernel: number; source: string; entryPoint: string; buffers: number }
  | { op: 'run'; seq: number; batch: DeviceDispatch[] }
  /** Destroys the WebGPU device, as a driver reset loses it (tests; `ProcessGpuDevice.simulateLoss`). */
  | { op: 'lose' }
  | { op: 'close'; seq: number };

export type FromDevice =
  | { ready: AdapterInfo; maxBufferBytes: number }
  | { failed: { code: string; message: string } }
  | { lost: string }
  | { seq: number; ok: true; value?: unknown }
  | { seq: number; ok: false; code: string; message: string };
