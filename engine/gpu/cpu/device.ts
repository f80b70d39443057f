import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { RoamError } from '../../errors.ts';
import { BufferTable, type DeviceCounters, type DeviceDispatch, type DeviceInfo, type GpuDevice } from '../device.ts';
import type { CpuTask } from './executor.ts';

export interface CpuDeviceOptions {
  /** Worker threads (default: available cores). */
  threads?: number;
  /** Device memory handed out, bytes (default 1 GiB). */
  memoryBytes?: number;
}

/**
 * The cpu device: built-in kernels on a pool of worker threads, buffers in SharedArrayBuffers so a
 * dispatch moves no data. A real executor, always labelled `cpu` so nobody mistakes it for a GPU.
 */
export class CpuDevice implements GpuDevice {
  readonly info: DeviceInfo;
  private readonly pool: Piscina;
  private readonly buffers = new BufferTable<SharedArrayBuffer>();
  private readonly warm: Promise<void>;

  constructor(opts: CpuDeviceOptions = {}) {
    const threads = Math.max(1, opts.threads ?? availableParallelism());
    const memoryBytes = opts.memoryBytes ?? 2 ** 30;
    this.info = { kind: 'cpu', label: `cpu executor (${threads} worker threads, built-in kernels only)`, slots: threads, memoryBytes, maxBufferBytes: Math.min(memoryBytes, 2 ** 30), wgsl: false };
    this.pool = new Piscina({ filename: new URL('./worker.mjs', import.meta.url).href, minThreads: threads, maxThreads: threads, idleTimeout: 60_000 });
    // Loading the TypeScript executor takes a worker a few hundred ms; do it now, once per thread,
    // so the first dispatches are not charged for it.
    const empty: CpuTask = { jobs: [] };
    this.warm = Promise.all(Array.from({ length: threads }, () => this.pool.run(empty))).then(() => undefined);
  }

  ready(): Promise<void> {
    return this.warm;
  }

  get counters(): DeviceCounters {
    return this.buffers.counters;
  }

  createBuffer(bytes: number): number {
    const size = BufferTable.size(bytes);
    return this.buffers.add(new SharedArrayBuffer(size), size);
  }

  destroyBuffer(id: number): void {
    this.buffers.remove(id); // the SharedArrayBuffer is collected once no task holds it
  }

  bufferBytes(id: number): number | undefined {
    return this.buffers.bytes(id);
  }

  private sab(id: number): SharedArrayBuffer {
    return this.buffers.get(id);
  }

  async write(id: number, offset: number, data: Uint8Array): Promise<void> {
    new Uint8Array(this.sab(id)).set(data, offset);
  }

  async read(id: number, offset: number, len: number): Promise<Uint8Array> {
    return new Uint8Array(this.sab(id), offset, len).slice();
  }

  async compile(): Promise<number> {
    throw new RoamError('E_GPU_UNSUPPORTED', 'user WGSL kernels need the webgpu device; the cpu device runs built-in kernels only (see roam gpu info)');
  }

  userKernel(): undefined {
    return undefined;
  }

  async run(batch: DeviceDispatch[]): Promise<number> {
    const task: CpuTask = { jobs: batch.map((d) => ({ kernel: d.kernel, params: d.params, buffers: d.buffers.map((b) => this.sab(b)) })) };
    this.buffers.ran(batch.length);
    return (await this.pool.run(task)) as number;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
