import { RoamError } from '../../errors.ts';
import { BufferTable, type DeviceCounters, type DeviceDispatch, type DeviceInfo, type GpuDevice } from '../device.ts';
import { KERNELS, USER_KERNEL_BASE } from '../kernels/table.ts';
import { invocations, SHADERS, WG } from './shaders.ts';

// The WebGPU objects come from Dawn's Node bindings; typed loosely at this one boundary.
/* eslint-disable @typescript-eslint/no-explicit-any */
type GPUDeviceLike = any;
type GPUBufferLike = any;
/** A device buffer and the outcome of its allocation (Dawn reports out-of-memory asynchronously). */
interface Buf {
  gpu: GPUBufferLike;
  /** Resolves with the allocation's error, if any (never rejects: nobody may be awaiting it). */
  alloc: Promise<RoamError | undefined>;
}

// GPUBufferUsage / GPUMapMode values from the WebGPU spec (globals are not installed in Node).
const MAP_READ = 1, COPY_SRC = 4, COPY_DST = 8, UNIFORM = 64, STORAGE = 128;
const MAP_MODE_READ = 1;

interface Pipeline {
  pipeline: any;
  /** Storage buffers bound (the uniform, for built-ins, comes after them). */
  buffers: number;
  builtin: boolean;
}

/**
 * The webgpu device: built-in kernels as WGSL compute shaders and user WGSL kernels, on a real
 * adapter opened through the `webgpu` npm package (Dawn). A batch is one command buffer.
 */
export class WebGpuDevice implements GpuDevice {
  readonly info: DeviceInfo;
  private readonly buffers = new BufferTable<Buf>();
  /** Why the device was lost (driver reset, destroy(), out of memory), once it is. */
  private lostReason: string | undefined;
  private closing = false;
  private readonly pipelines = new Map<number, Pipeline>();
  private nextKernel = USER_KERNEL_BASE;

  /**
   * `instance` is the object `create()` of the webgpu package returned: it is held here because Dawn
   * frees everything made from it when it is garbage-collected (adapter.ts, DawnDevice).
   */
  constructor(private readonly device: GPUDeviceLike, adapterName: string, memoryBytes: number, readonly instance?: unknown) {
    const maxBuf = Number(device.limits?.maxStorageBufferBindingSize ?? 128 * 2 ** 20);
    this.info = { kind: 'webgpu', label: `webgpu: ${adapterName}`, slots: 2, memoryBytes, maxBufferBytes: Math.min(maxBuf, memoryBytes), wgsl: true };
    void Promise.resolve(device.lost).then((i: any) => {
      if (i) this.lostReason = `${i.reason ?? 'unknown'}${i.message ? `: ${String(i.message).split('\n')[0]}` : ''}`;
    });
  }

  /** Resolves with the loss reason when the device is lost (including by close()). */
  get lost(): Promise<string> {
    return Promise.resolve(this.device.lost).then((i: any) => `${i?.reason ?? 'unknown'}${i?.message ? `: ${String(i.message).split('\n')[0]}` : ''}`);
  }

  private alive(): void {
    if (this.lostReason !== undefined && !this.closing) throw new RoamError('E_GPU_DEVICE_LOST', `the webgpu device was lost (${this.lostReason})`);
  }

  /** Destroys the WebGPU device as a driver reset would lose it (tests and `simulateLoss`). */
  loseForTest(): void {
    this.device.destroy();
  }

  async ready(): Promise<void> {}

  get counters(): DeviceCounters {
    return this.buffers.counters;
  }

  createBuffer(bytes: number): number {
    this.alive();
    const size = BufferTable.size(bytes);
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    const gpu = this.device.createBuffer({ size, usage: STORAGE | COPY_SRC | COPY_DST });
    const scopes = Promise.all([this.device.popErrorScope(), this.device.popErrorScope()]);
    const id = this.buffers.add({ gpu, alloc: undefined as unknown as Promise<RoamError | undefined> }, size);
    this.buffers.get(id).alloc = scopes.then(
      ([verr, oom]) => (oom || verr ? new RoamError('E_GPU_MEMORY', `the webgpu device could not allocate buffer ${id} (${size} bytes): ${String((oom ?? verr).message).split('\n')[0]}`) : undefined),
      (e) => new RoamError('E_GPU_DEVICE_LOST', `the webgpu device failed allocating buffer ${id}: ${(e as Error).message}`),
    );
    return id;
  }

  destroyBuffer(id: number): void {
    this.buffers.remove(id)?.gpu.destroy();
  }

  bufferBytes(id: number): number | undefined {
    return this.buffers.bytes(id);
  }

  private buf(id: number): GPUBufferLike {
    return this.buffers.get(id).gpu;
  }

  /** Throws the allocation error of any of these buffers (out of device memory), or a loss. */
  private async usable(ids: number[]): Promise<void> {
    this.alive();
    for (const id of ids) {
      const e = await this.buffers.get(id).alloc;
      if (e) throw e;
    }
  }

  async write(id: number, offset: number, data: Uint8Array): Promise<void> {
    await this.usable([id]);
    const buf = this.buf(id);
    // writeBuffer wants 4-byte aligned offsets and sizes: widen to the aligned range, keep the edges.
    const lo = offset & ~3, hi = Math.ceil((offset + data.length) / 4) * 4;
    let chunk = data;
    if (lo !== offset || hi !== offset + data.length) {
      chunk = await this.read(id, lo, hi - lo);
      chunk.set(data, offset - lo);
    }
    if (chunk.length) this.device.queue.writeBuffer(buf, lo, chunk.buffer, chunk.byteOffset, chunk.length);
  }

  async read(id: number, offset: number, len: number): Promise<Uint8Array> {
    await this.usable([id]);
    const buf = this.buf(id);
    const lo = offset & ~3, hi = Math.ceil((offset + len) / 4) * 4;
    if (hi === lo) return new Uint8Array(0);
    const staging = this.device.createBuffer({ size: hi - lo, usage: MAP_READ | COPY_DST });
    try {
      const enc = this.device.createCommandEncoder();
      enc.copyBufferToBuffer(buf, lo, staging, 0, hi - lo);
      this.device.queue.submit([enc.finish()]);
      await staging.mapAsync(MAP_MODE_READ).catch((e: Error) => {
        this.alive();
        throw new RoamError('E_GPU_DEVICE_LOST', `webgpu download failed: ${e.message.split('\n')[0]}`);
      });
      const out = new Uint8Array(staging.getMappedRange()).slice(offset - lo, offset - lo + len);
      // Unmap before destroy: it detaches the mapped ArrayBuffer, which must not outlive Dawn's memory.
      staging.unmap();
      return out;
    } finally {
      staging.destroy();
    }
  }

  /** Compiles WGSL into a pipeline, turning compiler and validation errors into E_GPU_WGSL. */
  private async pipeline(code: string, entryPoint: string): Promise<any> {
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code });
    const info = await module.getCompilationInfo();
    const err = info.messages.find((m: any) => m.type === 'error');
    if (err) {
      await this.device.popErrorScope();
      throw new RoamError('E_GPU_WGSL', `WGSL kernel does not compile: line ${err.lineNum}:${err.linePos}: ${String(err.message).split('\n')[0]}`);
    }
    const pipeline = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint } });
    const verr = await this.device.popErrorScope();
    if (verr) throw new RoamError('E_GPU_WGSL', `WGSL kernel is invalid: ${String(verr.message).split('\n')[0]}`);
    return pipeline;
  }

  async compile(source: string, entryPoint: string, bufferCount: number): Promise<number> {
    this.alive();
    const pipeline = await this.pipeline(source, entryPoint);
    const id = this.nextKernel++;
    this.pipelines.set(id, { pipeline, buffers: bufferCount, builtin: false });
    return id;
  }

  userKernel(kernel: number): { buffers: number; workgroups: number } | undefined {
    const p = kernel >= USER_KERNEL_BASE ? this.pipelines.get(kernel) : undefined;
    return p ? { buffers: p.buffers, workgroups: 0 } : undefined;
  }

  private async builtin(kernel: number): Promise<Pipeline> {
    let p = this.pipelines.get(kernel);
    if (!p) {
      const spec = KERNELS.get(kernel)!;
      p = { pipeline: await this.pipeline(SHADERS.get(kernel)!, 'main'), buffers: spec.buffers, builtin: true };
      this.pipelines.set(kernel, p);
    }
    return p;
  }

  async run(batch: DeviceDispatch[]): Promise<number> {
    await this.usable([...new Set(batch.flatMap((d) => d.buffers))]);
    const t0 = performance.now();
    const pipes = await Promise.all(batch.map((d) => (d.kernel >= USER_KERNEL_BASE ? this.pipelines.get(d.kernel)! : this.builtin(d.kernel))));
    const uniforms: GPUBufferLike[] = [];
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    batch.forEach((d, i) => {
      const p = pipes[i]!;
      const entries = d.buffers.map((b, binding) => ({ binding, resource: { buffer: this.buf(b) } }));
      let groups: [number, number, number];
      if (p.builtin) {
        const u = this.device.createBuffer({ size: 16, usage: UNIFORM | COPY_DST });
        this.device.queue.writeBuffer(u, 0, new Uint32Array([d.params[0] ?? 0, d.params[1] ?? 0, d.params[2] ?? 0, 0]));
        uniforms.push(u);
        entries.push({ binding: d.buffers.length, resource: { buffer: u } });
        const wgs = Math.ceil(invocations(d.kernel, d.params) / WG);
        groups = [Math.min(wgs, 65535), Math.ceil(wgs / 65535), 1];
      } else {
        groups = [d.params[0]!, d.params[1]!, d.params[2]!];
      }
      pass.setPipeline(p.pipeline);
      pass.setBindGroup(0, this.device.createBindGroup({ layout: p.pipeline.getBindGroupLayout(0), entries }));
      pass.dispatchWorkgroups(...groups);
    });
    pass.end();
    this.device.queue.submit([enc.finish()]);
    const verr = await this.device.popErrorScope();
    const oom = await this.device.popErrorScope();
    await this.device.queue.onSubmittedWorkDone();
    for (const u of uniforms) u.destroy();
    this.buffers.ran(batch.length);
    this.alive(); // lost while running: the results are gone
    if (oom) throw new RoamError('E_GPU_MEMORY', `the webgpu device ran out of memory running the dispatch: ${String(oom.message).split('\n')[0]}`);
    if (verr) throw new RoamError('E_GPU_DISPATCH', `webgpu rejected the dispatch: ${String(verr.message).split('\n')[0]}`);
    return performance.now() - t0;
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const id of this.buffers.ids()) this.destroyBuffer(id);
    this.device.destroy();
  }
}
