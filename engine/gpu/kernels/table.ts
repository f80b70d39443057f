import { RoamError } from '../../errors.ts';

/**
 * Built-in kernels, by id (the guest ABI passes the id). Every kernel works on f32 buffers that
 * start at byte 0; `params` are element counts. User WGSL kernels get ids from USER_KERNEL_BASE up.
 */
export const Kernel = {
  matmul: 1,
  add: 2, sub: 3, mul: 4, div: 5, maximum: 6,
  relu: 10, sigmoid: 11, tanh: 12, exp: 13,
  softmax: 20,
  sum: 30, max: 31,
} as const;
export type KernelName = keyof typeof Kernel;
export const USER_KERNEL_BASE = 1000;

export interface KernelSpec {
  id: number;
  name: string;
  /** Number of buffers, in order; the last is written. */
  buffers: number;
  params: string[];
  /** Minimum size in f32 elements of each buffer, given params. */
  sizes(p: number[]): number[];
  /** Work units (≈ flops) for cost estimates and batching bounds. */
  work(p: number[]): number;
}

const binary = (id: number, name: string): KernelSpec => ({
  id, name, buffers: 3, params: ['n', 'bn'],
  // out[i] = a[i] op b[i % bn]: bn = n is plain elementwise, bn = cols broadcasts a row (bias).
  sizes: ([n, bn]) => [n!, bn!, n!],
  work: ([n]) => n!,
});
const unary = (id: number, name: string): KernelSpec => ({ id, name, buffers: 2, params: ['n'], sizes: ([n]) => [n!, n!], work: ([n]) => n! * 4 });
const rows = (id: number, name: string, outPerRow: boolean): KernelSpec => ({
  id, name, buffers: 2, params: ['rows', 'cols'],
  sizes: ([r, c]) => [r! * c!, outPerRow ? r! : r! * c!],
  work: ([r, c]) => r! * c! * (outPerRow ? 1 : 4),
});

export const KERNELS: ReadonlyMap<number, KernelSpec> = new Map([
  { id: Kernel.matmul, name: 'matmul', buffers: 3, params: ['m', 'k', 'n'], sizes: ([m, k, n]: number[]) => [m! * k!, k! * n!, m! * n!], work: ([m, k, n]: number[]) => 2 * m! * k! * n! },
  binary(Kernel.add, 'add'), binary(Kernel.sub, 'sub'), binary(Kernel.mul, 'mul'), binary(Kernel.div, 'div'), binary(Kernel.maximum, 'maximum'),
  unary(Kernel.relu, 'relu'), unary(Kernel.sigmoid, 'sigmoid'), unary(Kernel.tanh, 'tanh'), unary(Kernel.exp, 'exp'),
  rows(Kernel.softmax, 'softmax', false),
  rows(Kernel.sum, 'sum', true), rows(Kernel.max, 'max', true),
].map((k) => [k.id, k]));

export const kernelName = (id: number): string => KERNELS.get(id)?.name ?? (id >= USER_KERNEL_BASE ? `wgsl#${id}` : `#${id}`);

/** Largest element count one dispatch may name (2^28 f32 = 1 GiB); keeps products exact in f64. */
const MAX_ELEMS = 2 ** 28;

/**
 * Checks a built-in dispatch against its spec and the buffers' sizes (bytes). Throws E_GPU_KERNEL
 * for unknown kernels or bad params and E_GPU_BOUNDS when a buffer is too small for the shape.
 */
export function checkBuiltin(id: number, params: number[], bufferBytes: number[]): KernelSpec {
  const spec = KERNELS.get(id);
  if (!spec) throw new RoamError('E_GPU_KERNEL', `unknown kernel id ${id} (built-ins: ${[...KERNELS.values()].map((k) => `${k.id}=${k.name}`).join(', ')})`);
  if (bufferBytes.length !== spec.buffers) throw new RoamError('E_GPU_KERNEL', `kernel ${spec.name} takes ${spec.buffers} buffers, got ${bufferBytes.length}`);
  if (params.length !== spec.params.length) throw new RoamError('E_GPU_KERNEL', `kernel ${spec.name} takes params (${spec.params.join(', ')}), got ${params.length}`);
  params.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 1 || v > MAX_ELEMS) throw new RoamError('E_GPU_KERNEL', `kernel ${spec.name}: ${spec.params[i]} = ${v} must be an integer in 1..${MAX_ELEMS}`);
  });
  spec.sizes(params).forEach((elems, i) => {
    if (elems > MAX_ELEMS) throw new RoamError('E_GPU_BOUNDS', `kernel ${spec.name}: buffer ${i} would need ${elems} elements (max ${MAX_ELEMS})`);
    if (elems * 4 > bufferBytes[i]!) throw new RoamError('E_GPU_BOUNDS', `kernel ${spec.name}: buffer ${i} holds ${bufferBytes[i]} bytes but (${spec.params.join(', ')}) = (${params.join(', ')}) needs ${elems * 4}`);
  });
  return spec;
}
