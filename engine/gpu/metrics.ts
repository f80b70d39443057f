import { Registry } from 'prom-client';
import { capRows, histogramSamples, OTHER, scraped, SECONDS_BUCKETS } from '../observe/metrics.ts';
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
  /** Dispatch latency histogram since registration (SECONDS_BUCKETS; /metrics only). */
  latency: { counts: number[]; sumSeconds: number };
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
        latency: f.latency,
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

/** `tenant/bundle` (the gpu's function id) as two labels; an id without a tenant part is the admin's. */
function idLabels(id: string): { tenant: string; bundle: string } {
  const i = id.indexOf('/');
  return i < 0 ? { tenant: '', bundle: id } : { tenant: id.slice(0, i), bundle: id.slice(i + 1) };
}

/**
 * Registers the gpu's series in a server's Prometheus registry; each scrape asks the shared service
 * once (all families read the same answer). Nothing is reported until something used the gpu.
 * Cumulative counts are counters (`_total`), latency a histogram in seconds; the device's name, free
 * text from the driver, appears only as a label of the `roam_gpu_device_info` family (value 1).
 * Functions are bounded by the registry (a gpu function is a deployed bundle) and capped at MAX_SERIES.
 */
export function registerGpuMetrics(registry: Registry, stats: () => Promise<GpuStats | undefined> = sharedGpuStats): void {
  let pending: Promise<GpuStatsView | null> | undefined;
  // One service round trip per scrape: the first family collected asks, the others reuse the answer.
  const snapshot = () => (pending ??= stats().then((s) => (s ? gpuStatsView(s) : null)).finally(() => setImmediate(() => (pending = undefined))));
  const fns = async () => capRows((await snapshot())?.functions ?? [], (f) => ({ ...f, id: `${OTHER}/${OTHER}`, latency: { counts: [...f.latency.counts], sumSeconds: f.latency.sumSeconds } }), foldGpuFunction);
  const perFn = (name: string, help: string, type: 'counter' | 'gauge', value: (f: GpuFunctionView) => number) =>
    scraped(registry, name, help, type, async () => (await fns()).map((f) => ({ labels: idLabels(f.id), value: value(f) })));
  const device = (name: string, help: string, value: (v: GpuStatsView) => number) =>
    scraped(registry, name, help, 'gauge', async () => {
      const v = await snapshot();
      return v ? [{ labels: {}, value: value(v) }] : [];
    });
  perFn('roam_gpu_share_ratio', 'GPU share granted to the function (manifest quota), 0..1', 'gauge', (f) => f.share);
  perFn('roam_gpu_achieved_share_ratio', 'Fraction of the device time used in the last window that went to the function', 'gauge', (f) => f.achievedShare);
  perFn('roam_gpu_busy_seconds_total', 'Device time the function used since it was registered', 'counter', (f) => f.busyMs / 1000);
  perFn('roam_gpu_queued_seconds_total', 'Time the function\'s dispatches waited in the gpu queue, summed', 'counter', (f) => f.queuedMs / 1000);
  perFn('roam_gpu_memory_bytes', 'Device memory the function holds', 'gauge', (f) => f.memoryBytes);
  perFn('roam_gpu_queue_full_rejections_total', 'Dispatches refused because the function\'s queue was full (over quota under load)', 'counter', (f) => f.rejections.queueFull);
  perFn('roam_gpu_memory_rejections_total', 'Buffers refused over the function\'s memory cap', 'counter', (f) => f.rejections.memory);
  perFn('roam_gpu_dispatches_completed_total', 'Dispatches completed', 'counter', (f) => f.completed);
  perFn('roam_gpu_dispatches_failed_total', 'Dispatches that failed on the device', 'counter', (f) => f.failed);
  scraped(registry, 'roam_gpu_dispatch_duration_seconds', 'Dispatch latency (queue + device)', 'histogram', async () =>
    (await fns()).flatMap((f) => histogramSamples('roam_gpu_dispatch_duration_seconds', idLabels(f.id), SECONDS_BUCKETS, f.latency.counts, f.latency.sumSeconds)));
  scraped(registry, 'roam_gpu_device_info', 'The gpu device serving this process (value 1): its kind and the driver\'s name for it', 'gauge', async () => {
    const v = await snapshot();
    return v ? [{ labels: { kind: v.device.kind, name: v.device.label.slice(0, 128) }, value: 1 }] : [];
  });
  device('roam_gpu_utilization_ratio', 'Device time used in the last window over its capacity', (v) => v.utilization);
  device('roam_gpu_live_bytes', 'Device memory allocated (all functions)', (v) => v.counters.liveBytes);
  device('roam_gpu_live_buffers', 'Device buffers allocated (all functions)', (v) => v.counters.liveBuffers);
}

function foldGpuFunction(into: GpuFunctionView, f: GpuFunctionView): void {
  into.busyMs += f.busyMs;
  into.queuedMs += f.queuedMs;
  into.memoryBytes += f.memoryBytes;
  into.completed += f.completed;
  into.failed += f.failed;
  into.rejections = { queueFull: into.rejections.queueFull + f.rejections.queueFull, memory: into.rejections.memory + f.rejections.memory };
  into.share += f.share;
  into.achievedShare += f.achievedShare;
  for (let i = 0; i < into.latency.counts.length; i++) into.latency.counts[i]! += f.latency.counts[i] ?? 0;
  into.latency.sumSeconds += f.latency.sumSeconds;
}

/** GPU statistics as Prometheus text (the families registerGpuMetrics registers), for one snapshot. */
export function gpuMetricsText(s: GpuStats): Promise<string> {
  const r = new Registry();
  registerGpuMetrics(r, async () => s);
  return r.metrics();
}
