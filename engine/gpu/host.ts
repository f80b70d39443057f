import { RoamError } from '../errors.ts';
import type { DeviceCounters, DeviceInfo, GpuDevice } from './device.ts';
import { checkBuiltin, kernelName, USER_KERNEL_BASE } from './kernels/table.ts';
import { GpuScheduler, type FunctionQuota, type SchedulerOptions, type SchedulerStats } from './scheduler/scheduler.ts';
import { checkWgsl } from './wgsl-check.ts';

export interface GpuFunctionQuota extends FunctionQuota {
  /** Device memory this function may hold at once, MiB. */
  memoryMiB: number;
}

/** A runtime quota change: any of share, memoryMiB, latencyMs. */
export interface GpuQuotaChange {
  share?: number;
  memoryMiB?: number;
  latencyMs?: number;
}

/** Bounds of a quota change; E_GPU_QUOTA names the bad field. */
export function checkQuotaChange(id: string, c: GpuQuotaChange): void {
  if (c.share !== undefined && !(typeof c.share === 'number' && c.share > 0 && c.share <= 1)) throw new RoamError('E_GPU_QUOTA', `gpu share for '${id}' must be in (0, 1], got ${c.share}`);
  if (c.memoryMiB !== undefined && !(typeof c.memoryMiB === 'number' && c.memoryMiB > 0 && c.memoryMiB <= 2 ** 20)) throw new RoamError('E_GPU_QUOTA', `gpu memoryMiB for '${id}' must be in (0, 1048576], got ${c.memoryMiB}`);
  if (c.latencyMs !== undefined && !(typeof c.latencyMs === 'number' && c.latencyMs > 0 && c.latencyMs <= 60_000)) throw new RoamError('E_GPU_QUOTA', `gpu latencyMs for '${id}' must be in (0, 60000] ms, got ${c.latencyMs}`);
}

export interface GpuStats {
  device: DeviceInfo;
  counters: DeviceCounters;
  scheduler: SchedulerStats;
  memory: Array<{ id: string; capBytes: number; liveBytes: number; liveBuffers: number; refused: number }>;
}

interface Owner {
  capBytes: number;
  liveBytes: number;
  buffers: Set<number>;
  kernels: Set<number>;
  refused: number;
}

/**
 * The gpu as functions see it: one device and its scheduler, with per-function ownership of
 * buffers and kernels, memory caps, and the bounds checks that keep one function's bad dispatch
 * from reaching the device. All errors are RoamErrors with one clear line.
 */
export class GpuHost {
  readonly scheduler: GpuScheduler;
  private readonly owners = new Map<string, Owner>();
  /** Quotas set at runtime (setQuota); they win over what a function's instances register. */
  private readonly overrides = new Map<string, GpuQuotaChange>();
  private readonly bufferOwner = new Map<number, string>();
  private allocated = 0;

  constructor(readonly device: GpuDevice, opts: SchedulerOptions = {}) {
    this.scheduler = new GpuScheduler(device, opts);
  }

  ready(): Promise<void> {
    return this.device.ready();
  }

  /** Adds a function (or updates its quota). A quota set at runtime (setQuota) still applies. */
  register(id: string, declared: GpuFunctionQuota): void {
    const q = { ...declared, ...this.overrides.get(id) };
    if (!(q.memoryMiB > 0)) throw new RoamError('E_GPU_QUOTA', `gpu memoryMiB for '${id}' must be positive`);
    this.scheduler.register(id, q);
    const o = this.owners.get(id);
    if (o) o.capBytes = q.memoryMiB * 2 ** 20;
    else this.owners.set(id, { capBytes: q.memoryMiB * 2 ** 20, liveBytes: 0, buffers: new Set(), kernels: new Set(), refused: 0 });
  }

  /**
   * Changes a function's share, memory cap and/or latency target at runtime, without a redeploy;
   * the change outlives the function's instances (they re-register their manifest quota) until set
   * again. A function not registered yet gets it when it first uses the gpu. A lower memory cap
   * refuses new buffers until the function holds less; it frees nothing. Returns the quota now in force.
   */
  setQuota(id: string, change: GpuQuotaChange): GpuQuotaChange {
    checkQuotaChange(id, change);
    change = Object.fromEntries(Object.entries(change).filter(([k, v]) => v !== undefined && ['share', 'memoryMiB', 'latencyMs'].includes(k)));
    const merged = { ...this.overrides.get(id), ...change };
    const o = this.owners.get(id);
    if (o) {
      const sq = this.scheduler.setQuota(id, { share: change.share, latencyMs: change.latencyMs });
      if (change.memoryMiB !== undefined) o.capBytes = change.memoryMiB * 2 ** 20;
      this.overrides.set(id, merged);
      return { share: sq.share, latencyMs: sq.latencyMs, memoryMiB: o.capBytes / 2 ** 20 };
    }
    this.overrides.set(id, merged);
    return merged;
  }

  private owner(id: string): Owner {
    const o = this.owners.get(id);
    if (!o) throw new RoamError('E_GPU_FUNCTION', `function '${id}' is not registered for gpu use (declare "gpu" in its manifest)`);
    return o;
  }

  private buffer(fn: string, id: number): number {
    const owner = this.bufferOwner.get(id);
    if (owner === undefined) throw new RoamError('E_GPU_BUFFER', `gpu buffer ${id} does not exist (freed, or never created)`);
    if (owner !== fn) throw new RoamError('E_GPU_BUFFER', `gpu buffer ${id} belongs to another function`);
    return this.device.bufferBytes(id)!;
  }

  createBuffer(fn: string, bytes: number): number {
    const o = this.owner(fn);
    if (!Number.isInteger(bytes) || bytes <= 0) throw new RoamError('E_GPU_ARG', `gpu buffer size must be a positive integer, got ${bytes}`);
    const size = Math.ceil(bytes / 4) * 4;
    if (o.liveBytes + size > o.capBytes) {
      o.refused++;
      throw new RoamError('E_GPU_MEMORY', `gpu memory cap: function '${fn}' holds ${o.liveBytes} bytes and asked for ${size} more, over its ${o.capBytes / 2 ** 20} MiB`);
    }
    if (size > this.device.info.maxBufferBytes) throw new RoamError('E_GPU_MEMORY', `gpu buffer of ${size} bytes is larger than the device allows (${this.device.info.maxBufferBytes})`);
    if (this.allocated + size > this.device.info.memoryBytes) {
      o.refused++;
      throw new RoamError('E_GPU_MEMORY', `gpu device memory exhausted: ${this.allocated} of ${this.device.info.memoryBytes} bytes in use, asked for ${size}`);
    }
    const id = this.device.createBuffer(size);
    this.bufferOwner.set(id, fn);
    o.buffers.add(id);
    o.liveBytes += size;
    this.allocated += size;
    return id;
  }

  destroyBuffer(fn: string, id: number): void {
    const size = this.buffer(fn, id);
    const o = this.owner(fn);
    this.device.destroyBuffer(id);
    this.bufferOwner.delete(id);
    o.buffers.delete(id);
    o.liveBytes -= size;
    this.allocated -= size;
  }

  private range(fn: string, id: number, offset: number, len: number, what: string): void {
    const size = this.buffer(fn, id);
    if (!Number.isInteger(offset) || !Number.isInteger(len) || offset < 0 || len < 0 || offset + len > size) {
      throw new RoamError('E_GPU_BOUNDS', `gpu ${what} out of range: buffer ${id} holds ${size} bytes, asked for ${len} at offset ${offset}`);
    }
  }

  async write(fn: string, id: number, offset: number, data: Uint8Array): Promise<void> {
    this.range(fn, id, offset, data.length, 'upload');
    await this.device.write(id, offset, data);
  }

  async read(fn: string, id: number, offset: number, len: number): Promise<Uint8Array> {
    this.range(fn, id, offset, len, 'download');
    return this.device.read(id, offset, len);
  }

  /** Compiles a user WGSL kernel for this function; returns its kernel id. */
  async compile(fn: string, source: string, entryPoint: string, buffers: number): Promise<number> {
    const o = this.owner(fn);
    if (!Number.isInteger(buffers) || buffers < 1 || buffers > 8) throw new RoamError('E_GPU_ARG', `a WGSL kernel binds 1..8 buffers, got ${buffers}`);
    checkWgsl(source, entryPoint);
    const id = await this.device.compile(source, entryPoint, buffers);
    o.kernels.add(id);
    return id;
  }

  /** Checks a dispatch (ownership, shape against buffer sizes) and queues it; resolves when it has run. */
  dispatch(fn: string, kernel: number, buffers: number[], params: number[]): Promise<void> {
    try {
      const o = this.owner(fn);
      const sizes = buffers.map((b) => this.buffer(fn, b));
      let work: number;
      if (kernel >= USER_KERNEL_BASE) {
        const uk = this.device.userKernel(kernel);
        if (!uk || !o.kernels.has(kernel)) throw new RoamError('E_GPU_KERNEL', `kernel ${kernelName(kernel)} was not compiled by function '${fn}'`);
        if (buffers.length !== uk.buffers) throw new RoamError('E_GPU_KERNEL', `kernel ${kernelName(kernel)} binds ${uk.buffers} buffers, got ${buffers.length}`);
        if (params.length !== 3 || params.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) throw new RoamError('E_GPU_KERNEL', `a WGSL dispatch takes 3 workgroup counts in 1..65535, got (${params.join(', ')})`);
        work = params[0]! * params[1]! * params[2]! * 64;
      } else {
        // WebGPU cannot bind one buffer as both read and read_write in a dispatch; same rule on every device.
        if (buffers.length > 1 && buffers.slice(0, -1).includes(buffers[buffers.length - 1]!)) throw new RoamError('E_GPU_KERNEL', `kernel ${kernelName(kernel)}: the output buffer must not also be an input`);
        const spec = checkBuiltin(kernel, params, sizes);
        work = spec.work(params);
      }
      return this.scheduler.submit(fn, { kernel, buffers: [...buffers], params: [...params] }, work);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Frees everything a function holds (its instance went away, or it is being removed). */
  releaseAll(fn: string): void {
    const o = this.owners.get(fn);
    if (!o) return;
    for (const id of [...o.buffers]) this.destroyBuffer(fn, id);
  }

  /** Frees the given buffers if they still exist and belong to `fn` (used when one instance goes away). */
  release(fn: string, ids: Iterable<number>): void {
    for (const id of ids) if (this.bufferOwner.get(id) === fn) this.destroyBuffer(fn, id);
  }

  unregister(fn: string): void {
    this.releaseAll(fn);
    this.scheduler.unregister(fn);
    this.owners.delete(fn);
  }

  stats(): GpuStats {
    return {
      device: this.device.info,
      counters: { ...this.device.counters },
      scheduler: this.scheduler.stats(),
      memory: [...this.owners].map(([id, o]) => ({ id, capBytes: o.capBytes, liveBytes: o.liveBytes, liveBuffers: o.buffers.size, refused: o.refused })),
    };
  }

  async close(): Promise<void> {
    await this.scheduler.close();
    for (const fn of this.owners.keys()) this.releaseAll(fn);
    await this.device.close();
  }
}
