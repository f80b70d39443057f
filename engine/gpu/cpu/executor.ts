import { runCpuKernel } from '../kernels/cpu.ts';

/** One worker task: several dispatches over shared buffers (SharedArrayBuffer: no copies). */
export interface CpuTask {
  jobs: Array<{ kernel: number; params: number[]; buffers: SharedArrayBuffer[] }>;
}

/** Runs a task's dispatches in order; returns the thread time it took (ms) for the device's counters. */
export function runBatch(task: CpuTask): number {
  const t0 = performance.now();
  for (const j of task.jobs) runCpuKernel({ kernel: j.kernel, params: j.params, buffers: j.buffers.map((b) => new Float32Array(b)) });
  return performance.now() - t0;
}
