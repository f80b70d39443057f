import type { GpuStats } from './host.ts';

/**
 * GPU statistics as Prometheus text lines, for the server's metrics endpoint. `/v1/stats` can
 * serve GpuStats as JSON directly.
 */
export function gpuMetrics(s: GpuStats): string {
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  const lines: string[] = [
    `roam_gpu_device_info{kind="${s.device.kind}",label="${esc(s.device.label)}"} 1`,
    `roam_gpu_utilization ${s.scheduler.utilization}`,
    `roam_gpu_live_buffers ${s.counters.liveBuffers}`,
    `roam_gpu_live_bytes ${s.counters.liveBytes}`,
    `roam_gpu_batches_total ${s.scheduler.batches}`,
    `roam_gpu_dispatches_total ${s.scheduler.dispatches}`,
  ];
  for (const f of s.scheduler.functions) {
    const l = `{function="${esc(f.id)}"}`;
    lines.push(
      `roam_gpu_share${l} ${f.share}`,
      `roam_gpu_achieved_share${l} ${f.achievedShare}`,
      `roam_gpu_device_ms_total${l} ${f.totalMs}`,
      `roam_gpu_queued${l} ${f.queued}`,
      `roam_gpu_completed_total${l} ${f.completed}`,
      `roam_gpu_failed_total${l} ${f.failed}`,
      `roam_gpu_refused_total${l} ${f.refused}`,
      `roam_gpu_latency_p99_ms${l} ${f.p99Ms}`,
    );
  }
  for (const m of s.memory) lines.push(`roam_gpu_function_live_bytes{function="${esc(m.id)}"} ${m.liveBytes}`, `roam_gpu_function_memory_cap_bytes{function="${esc(m.id)}"} ${m.capBytes}`);
  return lines.join('\n') + '\n';
}
