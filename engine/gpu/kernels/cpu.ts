import { Kernel } from './table.ts';

/** One built-in kernel invocation as the cpu executor sees it: f32 views over the buffers. */
export interface CpuJob {
  kernel: number;
  params: number[];
  buffers: Float32Array[];
}

const BINARY: Record<number, (x: number, y: number) => number> = {
  [Kernel.add]: (x, y) => x + y,
  [Kernel.sub]: (x, y) => x - y,
  [Kernel.mul]: (x, y) => x * y,
  [Kernel.div]: (x, y) => x / y,
  [Kernel.maximum]: (x, y) => (x > y ? x : y),
};
const UNARY: Record<number, (x: number) => number> = {
  [Kernel.relu]: (x) => (x > 0 ? x : 0),
  [Kernel.sigmoid]: (x) => 1 / (1 + Math.exp(-x)),
  [Kernel.tanh]: Math.tanh,
  [Kernel.exp]: Math.exp,
};

/** C = A·B with i-k-j loop order (row of B streamed, good locality); A m×k, B k×n, C m×n. */
function matmul(a: Float32Array, b: Float32Array, c: Float32Array, m: number, k: number, n: number): void {
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p]!;
      if (av === 0) continue;
      const bo = p * n;
      for (let j = 0; j < n; j++) row[j]! += av * b[bo + j]!;
    }
    c.set(row, i * n);
  }
}

function softmax(a: Float32Array, out: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) if (a[o + j]! > mx) mx = a[o + j]!;
    let s = 0;
    for (let j = 0; j < cols; j++) s += (out[o + j] = Math.exp(a[o + j]! - mx));
    for (let j = 0; j < cols; j++) out[o + j]! /= s;
  }
}

function reduce(a: Float32Array, out: Float32Array, rows: number, cols: number, isMax: boolean): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let acc = isMax ? -Infinity : 0;
    for (let j = 0; j < cols; j++) acc = isMax ? (a[o + j]! > acc ? a[o + j]! : acc) : acc + a[o + j]!;
    out[r] = acc;
  }
}

/** Runs one built-in kernel. Inputs are validated by the host (checkBuiltin) before they get here. */
export function runCpuKernel(job: CpuJob): void {
  const [a, b, c] = job.buffers as [Float32Array, Float32Array, Float32Array];
  const p = job.params;
  if (job.kernel === Kernel.matmul) return matmul(a, b, c, p[0]!, p[1]!, p[2]!);
  const bin = BINARY[job.kernel];
  if (bin) {
    const [n, bn] = [p[0]!, p[1]!];
    for (let i = 0, j = 0; i < n; i++, j = j + 1 === bn ? 0 : j + 1) c[i] = bin(a[i]!, b[j]!);
    return;
  }
  const un = UNARY[job.kernel];
  if (un) {
    for (let i = 0; i < p[0]!; i++) b[i] = un(a[i]!);
    return;
  }
  if (job.kernel === Kernel.softmax) return softmax(a, b, p[0]!, p[1]!);
  if (job.kernel === Kernel.sum || job.kernel === Kernel.max) return reduce(a, b, p[0]!, p[1]!, job.kernel === Kernel.max);
  throw new Error(`cpu executor has no kernel ${job.kernel}`);
}
