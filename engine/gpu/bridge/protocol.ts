import type { GpuFunctionQuota, GpuQuotaChange, GpuStats } from '../host.ts';
import type { DeviceInfo } from '../device.ts';

/** Operations a client thread asks the gpu service for; each maps to one GpuHost method. */
export interface Ops {
  info: { args: []; result: DeviceInfo };
  register: { args: [fn: string, quota: GpuFunctionQuota]; result: void };
  create: { args: [fn: string, bytes: number]; result: number };
  destroy: { args: [fn: string, id: number]; result: void };
  release: { args: [fn: string, ids: number[]]; result: void };
  write: { args: [fn: string, id: number, offset: number, data: Uint8Array]; result: void };
  read: { args: [fn: string, id: number, offset: number, len: number]; result: Uint8Array };
  compile: { args: [fn: string, source: string, entryPoint: string, buffers: number]; result: number };
  dispatch: { args: [fn: string, kernel: number, buffers: number[], params: number[]]; result: void };
  stats: { args: []; result: GpuStats };
  quota: { args: [fn: string, change: GpuQuotaChange]; result: GpuQuotaChange };
}
export type Op = keyof Ops;

export interface Request {
  id: number;
  op: Op;
  args: unknown[];
}

export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; code: string; message: string };

/**
 * First message of a client: the shared flag the service raises when a reply is posted. Over the
 * process channel it also names the client (`hello`, see CHANNEL.client); the service answers id 0.
 */
export interface Hello {
  flag: SharedArrayBuffer;
  hello?: string;
}

/**
 * BroadcastChannel names (process-wide: any thread reaches them without being handed a port).
 * hello: a client introduces itself to the shared service; boot: a worker thread asks the main
 * thread to start it; then each client has its own pair, so no other thread receives its traffic.
 */
export const CHANNEL = {
  hello: 'roam:gpu:hello',
  boot: 'roam:gpu:boot',
  client: (name: string) => ({ requests: `roam:gpu:c2s:${name}`, replies: `roam:gpu:s2c:${name}` }),
} as const;

export interface ServiceOptions {
  device: 'auto' | 'cpu' | 'webgpu';
  threads?: number;
  memoryBytes?: number;
  windowMs?: number;
  /** Scheduler policy (default share; fcfs is the benchmark's baseline). */
  policy?: 'share' | 'fcfs';
  /** Most dispatches per batch (default 32; 1 turns batching off). */
  maxBatch?: number;
  /** Serve the process channel too (only the process-wide service does; others are port-only). */
  shared?: boolean;
}
