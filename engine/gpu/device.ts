import { RoamError } from '../errors.ts';

/** What `roam gpu info` and outputs print about a device. */
export interface DeviceInfo {
  kind: 'cpu' | 'webgpu';
  /** Human label; the cpu device always says it is the cpu executor. */
  label: string;
  /** Dispatches the device runs at once (cpu: worker threads; webgpu: queued submissions). */
  slots: number;
  /** Device memory the engine hands out, bytes. */
  memoryBytes: number;
  /** Largest single buffer, bytes. */
  maxBufferBytes: number;
  /** Whether user WGSL kernels can run. */
  wgsl: boolean;
}

/** A dispatch whose buffers are resolved to device buffer ids and already checked. */
export interface DeviceDispatch {
  kernel: number;
  buffers: number[];
  params: number[];
}

/** Live device memory, for leak checks. */
export interface DeviceCounters {
  liveBuffers: number;
  liveBytes: number;
  buffersCreated: number;
  buffersDestroyed: number;
  batches: number;
  dispatches: number;
}

/**
 * A compute device: buffers, copies and batched dispatches. The scheduler decides what runs when;
 * the device only executes. Buffer ids are device-wide; ownership is checked above (GpuHost).
 */
export interface GpuDevice {
  readonly info: DeviceInfo;
  readonly counters: DeviceCounters;
  /** Resolves when the device can run work at full speed (workers loaded, adapter opened). */
  ready(): Promise<void>;
  createBuffer(bytes: number): number;
  destroyBuffer(id: number): void;
  bufferBytes(id: number): number | undefined;
  write(id: number, offset: number, data: Uint8Array): Promise<void>;
  read(id: number, offset: number, len: number): Promise<Uint8Array>;
  /** Compiles a user WGSL kernel; returns its kernel id. Throws E_GPU_WGSL or E_GPU_UNSUPPORTED. */
  compile(source: string, entryPoint: string, bufferCount: number): Promise<number>;
  /** Bytes each buffer of a user kernel must hold, or undefined if `kernel` is not a user kernel. */
  userKernel(kernel: number): { buffers: number; workgroups: number } | undefined;
  /**
   * Runs dispatches as one batch (one worker task / one command submission); resolves with the
   * device time it took in ms (not counting thread start-up or queueing), which quotas charge.
   */
  run(batch: DeviceDispatch[]): Promise<number>;
  close(): Promise<void>;
}

/**
 * Device buffer ids, sizes and the leak counters, the same for every device; `B` is the device's
 * own buffer object (SharedArrayBuffer, GPUBuffer).
 */
export class BufferTable<B> {
  readonly counters: DeviceCounters = { liveBuffers: 0, liveBytes: 0, buffersCreated: 0, buffersDestroyed: 0, batches: 0, dispatches: 0 };
  private readonly buffers = new Map<number, { buf: B; bytes: number }>();
  private nextId = 1;

  /** Size a device allocates for `bytes`: whole f32s, at least one. */
  static size(bytes: number): number {
    return Math.max(4, Math.ceil(bytes / 4) * 4);
  }

  add(buf: B, bytes: number): number {
    const id = this.nextId++;
    this.buffers.set(id, { buf, bytes });
    this.counters.liveBuffers++;
    this.counters.liveBytes += bytes;
    this.counters.buffersCreated++;
    return id;
  }

  /** Forgets a buffer; returns it so the device can free it (undefined if unknown). */
  remove(id: number): B | undefined {
    const e = this.buffers.get(id);
    if (!e) return undefined;
    this.buffers.delete(id);
    this.counters.liveBuffers--;
    this.counters.liveBytes -= e.bytes;
    this.counters.buffersDestroyed++;
    return e.buf;
  }

  bytes(id: number): number | undefined {
    return this.buffers.get(id)?.bytes;
  }

  get(id: number): B {
    const e = this.buffers.get(id);
    if (!e) throw new RoamError('E_GPU_BUFFER', `device buffer ${id} does not exist`);
    return e.buf;
  }

  ids(): number[] {
    return [...this.buffers.keys()];
  }

  /** Counts a batch the device ran. */
  ran(dispatches: number): void {
    this.counters.batches++;
    this.counters.dispatches += dispatches;
  }
}
