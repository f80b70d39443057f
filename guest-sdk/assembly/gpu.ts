// roam:gpu — device buffers, copies and compute kernels. `import { GpuBuffer, matmul } from "roam/gpu";`
// Buffers hold f32 data from byte 0; kernels check every shape against the buffers' sizes.
// Errors (out-of-range dispatch, over the memory cap, bad WGSL) trap the call with a clear
// message and the host frees this instance's buffers.
// Manifest: "gpu": { "share": 0.3, "memoryMiB": 64, "latencyMs": 20 } — time share, memory cap, and the
// latency target within which the host batches this function's concurrent same-shape kernels.
@external("roam:gpu", "device_kind")
declare function host_device_kind(): i32;
@external("roam:gpu", "buffer_create")
declare function host_buffer_create(bytes: i32): i32;
@external("roam:gpu", "buffer_destroy")
declare function host_buffer_destroy(id: i32): void;
@external("roam:gpu", "upload")
declare function host_upload(id: i32, offset: i32, src: usize, len: i32): void;
@external("roam:gpu", "download")
declare function host_download(id: i32, offset: i32, dst: usize, len: i32): void;
@external("roam:gpu", "dispatch")
declare function host_dispatch(kernel: i32, buffers: usize, nbuffers: i32, params: usize, nparams: i32): void;
@external("roam:gpu", "compile")
declare function host_compile(src: usize, srcLen: i32, entry: usize, entryLen: i32, nbuffers: i32): i32;

/** Built-in kernel ids (engine/gpu/kernels/table.ts). */
export namespace Kernel {
  export const MATMUL: i32 = 1;
  export const ADD: i32 = 2;
  export const SUB: i32 = 3;
  export const MUL: i32 = 4;
  export const DIV: i32 = 5;
  export const MAXIMUM: i32 = 6;
  export const RELU: i32 = 10;
  export const SIGMOID: i32 = 11;
  export const TANH: i32 = 12;
  export const EXP: i32 = 13;
  export const SOFTMAX: i32 = 20;
  export const SUM: i32 = 30;
  export const MAX: i32 = 31;
}

/** "cpu" (the cpu executor) or "webgpu" (a real GPU). */
export function deviceKind(): string {
  return host_device_kind() == 1 ? "webgpu" : "cpu";
}

/** A device buffer of f32s. Free it with `free()` when done; it counts against the function's memory cap. */
export class GpuBuffer {
  constructor(public readonly id: i32, public readonly length: i32) {}

  /** A buffer of `length` f32s. */
  static create(length: i32): GpuBuffer {
    return new GpuBuffer(host_buffer_create(length << 2), length);
  }

  /** A buffer holding a copy of `data`. */
  static from(data: StaticArray<f32>): GpuBuffer {
    const b = GpuBuffer.create(data.length);
    b.upload(data);
    return b;
  }

  /** Copies `data` into the buffer at element `offset`. */
  upload(data: StaticArray<f32>, offset: i32 = 0): void {
    host_upload(this.id, offset << 2, changetype<usize>(data), data.length << 2);
  }

  /** Copies `n` f32s from guest memory at `ptr` into the buffer at element `offset`. */
  uploadRaw(ptr: usize, n: i32, offset: i32 = 0): void {
    host_upload(this.id, offset << 2, ptr, n << 2);
  }

  /** Copies `n` elements starting at `offset` out of the buffer. */
  download(n: i32 = -1, offset: i32 = 0): StaticArray<f32> {
    const len = n < 0 ? this.length - offset : n;
    const out = new StaticArray<f32>(len);
    host_download(this.id, offset << 2, changetype<usize>(out), len << 2);
    return out;
  }

  free(): void {
    host_buffer_destroy(this.id);
  }
}

/** Runs kernel `kernel` on `buffers` (the last one is written) with integer `params`. Blocks until done. */
export function dispatch(kernel: i32, buffers: StaticArray<i32>, params: StaticArray<i32>): void {
  host_dispatch(kernel, changetype<usize>(buffers), buffers.length, changetype<usize>(params), params.length);
}

/** out[m×n] = a[m×k] · b[k×n]. */
export function matmul(a: GpuBuffer, b: GpuBuffer, out: GpuBuffer, m: i32, k: i32, n: i32): void {
  dispatch(Kernel.MATMUL, [a.id, b.id, out.id], [m, k, n]);
}

/** out[i] = a[i] op b[i % bn] (op: Kernel.ADD … Kernel.MAXIMUM); bn = n is plain elementwise, bn = cols adds a row. */
export function binary(op: i32, a: GpuBuffer, b: GpuBuffer, out: GpuBuffer, n: i32, bn: i32 = n): void {
  dispatch(op, [a.id, b.id, out.id], [n, bn]);
}

/** out[i] = f(a[i]) (op: Kernel.RELU, SIGMOID, TANH, EXP). */
export function unary(op: i32, a: GpuBuffer, out: GpuBuffer, n: i32): void {
  dispatch(op, [a.id, out.id], [n]);
}

/** Row-wise softmax of a rows×cols matrix. */
export function softmax(a: GpuBuffer, out: GpuBuffer, rows: i32, cols: i32): void {
  dispatch(Kernel.SOFTMAX, [a.id, out.id], [rows, cols]);
}

/** out[r] = sum or max of row r (op: Kernel.SUM or Kernel.MAX). */
export function reduce(op: i32, a: GpuBuffer, out: GpuBuffer, rows: i32, cols: i32): void {
  dispatch(op, [a.id, out.id], [rows, cols]);
}

/** Compiles a WGSL compute kernel binding `buffers` storage buffers at @group(0) @binding(0..); returns its kernel id.
 *  Dispatch it with `dispatch(id, [buffers…], [x, y, z])` (workgroup counts). webgpu device only. */
export function compileWgsl(source: string, entryPoint: string, buffers: i32): i32 {
  const src = String.UTF8.encode(source);
  const entry = String.UTF8.encode(entryPoint);
  return host_compile(changetype<usize>(src), src.byteLength, changetype<usize>(entry), entry.byteLength, buffers);
}
