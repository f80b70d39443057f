import { Kernel } from '../kernels/table.ts';

/** Invocations per workgroup for every built-in; dispatches spill into y past 65535 workgroups. */
export const WG = 64;

const head = (inputs: number) => [
  'struct P { a: u32, b: u32, c: u32, d: u32 }',
  ...Array.from({ length: inputs }, (_, i) => `@group(0) @binding(${i}) var<storage, read> in${i}: array<f32>;`),
  `@group(0) @binding(${inputs}) var<storage, read_write> out: array<f32>;`,
  `@group(0) @binding(${inputs + 1}) var<uniform> p: P;`,
  `@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {`,
  `  let idx = g.x + g.y * nw.x * ${WG}u;`,
].join('\n');

const binary = (expr: string) => `${head(2)}
  if (idx >= p.a) { return; }
  let x = in0[idx];
  let y = in1[idx % p.b];
  out[idx] = ${expr};
}`;
const unary = (expr: string) => `${head(1)}
  if (idx >= p.a) { return; }
  let x = in0[idx];
  out[idx] = ${expr};
}`;

/** WGSL for each built-in, matching kernels/cpu.ts; params arrive as p.a, p.b, p.c. */
export const SHADERS: ReadonlyMap<number, string> = new Map([
  [Kernel.matmul, `${head(2)}
  let m = p.a; let k = p.b; let n = p.c;
  if (idx >= m * n) { return; }
  let i = idx / n; let j = idx % n;
  var acc = 0.0;
  for (var q = 0u; q < k; q++) { acc += in0[i * k + q] * in1[q * n + j]; }
  out[idx] = acc;
}`],
  [Kernel.add, binary('x + y')], [Kernel.sub, binary('x - y')], [Kernel.mul, binary('x * y')],
  [Kernel.div, binary('x / y')], [Kernel.maximum, binary('max(x, y)')],
  [Kernel.relu, unary('max(x, 0.0)')], [Kernel.sigmoid, unary('1.0 / (1.0 + exp(-x))')],
  [Kernel.tanh, unary('tanh(x)')], [Kernel.exp, unary('exp(x)')],
  [Kernel.softmax, `${head(1)}
  let rows = p.a; let cols = p.b;
  if (idx >= rows) { return; }
  let o = idx * cols;
  var mx = in0[o];
  for (var j = 1u; j < cols; j++) { mx = max(mx, in0[o + j]); }
  var s = 0.0;
  for (var j = 0u; j < cols; j++) { let e = exp(in0[o + j] - mx); out[o + j] = e; s += e; }
  for (var j = 0u; j < cols; j++) { out[o + j] = out[o + j] / s; }
}`],
  [Kernel.sum, `${head(1)}
  if (idx >= p.a) { return; }
  var acc = 0.0;
  for (var j = 0u; j < p.b; j++) { acc += in0[idx * p.b + j]; }
  out[idx] = acc;
}`],
  [Kernel.max, `${head(1)}
  if (idx >= p.a) { return; }
  var acc = in0[idx * p.b];
  for (var j = 1u; j < p.b; j++) { acc = max(acc, in0[idx * p.b + j]); }
  out[idx] = acc;
}`],
]);

/** Invocations a built-in needs (one per output element, or per row for row kernels). */
export function invocations(kernel: number, p: number[]): number {
  if (kernel === Kernel.matmul) return p[0]! * p[2]!;
  if (kernel === Kernel.softmax || kernel === Kernel.sum || kernel === Kernel.max) return p[0]!;
  return p[0]!;
}
