import { Gauge, type Registry } from 'prom-client';
import { sharedGpuStats } from './bridge/client.ts';
import type { GpuStats } from './host.ts';

/** Per function, what an operator asks of a shared gpu: did it get its share, at what cost. */
export interface GpuFunctionView {
  id: string;
  /** Granted share (manifest quota). */
  share: number;
  /** Fraction of the device time used in the last window that went to this function. */
  achievedShare: number;
  busyMs: number;
  queuedMs: number;
  p50Ms: number;
  p99Ms: number;
  latencyMs: number;
  queued: number;
  inFlight: number;
  completed: number;
  failed: number;
  memoryBytes: number;
  memoryCapBytes: number;
  /** Requests refused: queue full (over quota under load) and over the memory cap. */
  rejections: { queueFull: number; memory: number };
}

export interface GpuStatsView {
  device: GpuStats['device'];
  policy: string;
  utilization: number;
  batches: number;
  dispatches: number;
  /** Device-wide live buffers and bytes, for leak checks. */
  counters: GpuStats['counters'];
  functions: GpuFunctionView[];
}

/** The shape `/v1/stats` serves under `gpu`. */
export function gpuStatsView(s: GpuStats): GpuStatsView {
  const mem = new Map(s.memory.map((m) => [m.id, m]));
  return {
    device: s.device,
    policy: s.scheduler.policy,
    utilization: s.scheduler.utilization,
    batches: s.scheduler.batches,
    dispatches: s.scheduler.dispatches,
    counters: s.counters,
    functions: s.scheduler.functions.map((f) => {
      const m = mem.get(f.id);
      return {
        id: f.id, share: f.share, achievedShare: f.achievedShare, busyMs: f.totalMs, queuedMs: f.queuedMs,
        p50Ms: f.p50Ms, p99Ms: f.p99Ms, latencyMs: f.latencyMs, queued: f.queued, inFlight: f.inFlight,
        completed: f.completed, failed: f.failed, memoryBytes: m?.liveBytes ?? 0, memoryCapBytes: m?.capBytes ?? 0,
        rejections: { queueFull: f.refused, memory: m?.refused ?? 0 },
      };
    }),
  };
}

/**
 * `/v1/stats`'s gpu part for this process's shared service, null until something used the gpu. A
 * tenant sees its own functions only (gpu function ids are `tenant/bundle`); null tenant = admin.
 */
export async function gpuStatsForServer(tenant: string | null = null): Promise<GpuStatsView | null> {
  const s = await sharedGpuStats();
  if (!s) return null;
  const v = gpuStatsView(s);
  return tenant === null ? v : { ...v, functions: v.functions.filter((f) => f.id.startsWith(`${tenant}/`)) };
}

/**
 * Registers the gpu's gauges in a server's Prometheus registry; each scrape asks the shared service
 * once (all gauges read the same answer). Nothing is reported until something used the gpu.
 */
export function registerGpuMetrics(registry: Registry, stats: () => Promise<GpuStats | undefined> = sharedGpuStats): void {
  let pending: Promise<GpuStatsView | null> | undefined;
  // One service round trip per scrape: the first gauge collected asks, the others reuse the answer.
  const snapshot = () => (pending ??= stats().then((s) => (s ? gpuStatsView(s) : null)).finally(() => setImmediate(() => (pending = undefined))));
  const registers = [registry];
  const perFn = (name: string, help: string, value: (f: GpuFunctionView) => number) =>
    new Gauge({ name, help, labelNames: ['function'], registers, async collect() {
      this.reset();
      for (const f of (await snapshot())?.functions ?? []) this.set({ function: f.id }, value(f));
    } });
  const device = (name: string, help: string, value: (v: GpuStatsView) => number) =>
    new Gauge({ name, help, labelNames: ['device'], registers, async collect() {
      this.reset();
      const v = await snapshot();
      if (v) this.set({ device: v.device.label }, value(v));
    } });
  perFn('roam_gpu_share', 'GPU share granted to the function (manifest quota)', (f) => f.share);
  perFn('roam_gpu_achieved_share', 'Fraction of the device time used in the last window that went to the function', (f) => f.achievedShare);
  perFn('roam_gpu_busy_seconds', 'Device time the function used since it was registered', (f) => f.busyMs / 1000);
  perFn('roam_gpu_queued_seconds', 'Time the function\'s dispatches waited in the gpu queue, summed', (f) => f.queuedMs / 1000);
  perFn('roam_gpu_latency_p99_seconds', 'p99 dispatch latency (queue + device) over the last 4096 dispatches', (f) => f.p99Ms / 1000);
  perFn('roam_gpu_memory_bytes', 'Device memory the function holds', (f) => f.memoryBytes);
  perFn('roam_gpu_queue_full_rejections', 'Dispatches refused because the function\'s queue was full (over quota under load)', (f) => f.rejections.queueFull);
  perFn('roam_gpu_memory_rejections', 'Buffers refused over the function\'s memory cap', (f) => f.rejections.memory);
  perFn('roam_gpu_dispatches_completed', 'Dispatches completed', (f) => f.completed);
  device('roam_gpu_utilization', 'Device time used in the last window over its capacity', (v) => v.utilization);
  device('roam_gpu_live_bytes', 'Device memory allocated (all functions)', (v) => v.counters.liveBytes);
  device('roam_gpu_live_buffers', 'Device buffers allocated (all functions)', (v) => v.counters.liveBuffers);
}

/** GPU statistics as Prometheus text lines (same names as registerGpuMetrics), without a registry. */
export function gpuMetrics(s: GpuStats): string {
  const v = gpuStatsView(s);
  const esc = (x: string) => x.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  const d = `{device="${esc(v.device.label)}"}`;
  const lines = [`roam_gpu_utilization${d} ${v.utilization}`, `roam_gpu_live_bytes${d} ${v.counters.liveBytes}`, `roam_gpu_live_buffers${d} ${v.counters.liveBuffers}`];
  for (const f of v.functions) {
    const l = `{function="${esc(f.id)}"}`;
    lines.push(
      `roam_gpu_share${l} ${f.share}`, `roam_gpu_achieved_share${l} ${f.achievedShare}`,
      `roam_gpu_busy_seconds${l} ${f.busyMs / 1000}`, `roam_gpu_queued_seconds${l} ${f.queuedMs / 1000}`,
      `roam_gpu_latency_p99_seconds${l} ${f.p99Ms / 1000}`, `roam_gpu_memory_bytes${l} ${f.memoryBytes}`,
      `roam_gpu_queue_full_rejections${l} ${f.rejections.queueFull}`, `roam_gpu_memory_rejections${l} ${f.rejections.memory}`,
      `roam_gpu_dispatches_completed${l} ${f.completed}`,
    );
  }
  return lines.join('\n') + '\n';
}
