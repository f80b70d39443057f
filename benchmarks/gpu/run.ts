// `npm run bench:gpu`: three functions with gpu shares 0.5/0.3/0.2 saturate one device; the share
// scheduler (sliding-window quotas + batching) against plain first-come-first-served time-sharing
// of the same device, in the same run. Prints markdown (the content of benchmarks/RESULTS-gpu.md).
//   npm run bench:gpu -- [--device cpu|webgpu|auto] [--seconds 3] [--rounds 2] [--threads N] [--workloads small,large] [--no-e2e] [--no-hop]
import { bySeries, plotLines } from '../plot.ts';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { openDevice } from '../../engine/gpu/detect.ts';
import { GpuHost } from '../../engine/gpu/host.ts';
import { Kernel } from '../../engine/gpu/kernels/table.ts';
import type { SchedulerOptions } from '../../engine/gpu/scheduler/scheduler.ts';
import { buildVariants, endToEnd, type E2eResult } from './end-to-end.ts';

const { values } = parseArgs({ options: { device: { type: 'string', default: 'auto' }, seconds: { type: 'string', default: '3' }, rounds: { type: 'string', default: '2' }, threads: { type: 'string' }, 'no-e2e': { type: 'boolean' }, 'no-hop': { type: 'boolean' }, workloads: { type: 'string', default: 'small,large' } } });
const SECONDS = Number(values.seconds);
/** Policies run interleaved, this many times each: on a shared machine load drifts within a run. */
const ROUNDS = Math.max(1, Number(values.rounds));
const SHARES = { a: 0.5, b: 0.3, c: 0.2 } as const;
/** Requests each function keeps outstanding: enough that every function always has work queued. */
const DEPTH = 16;

interface Workload {
  name: string;
  /** One request: a dense layer, rows × k times k × n (inference-sized). */
  m: number;
  k: number;
  n: number;
}
const ALL_WORKLOADS: Record<string, Workload> = {
  small: { name: 'small inference kernels (8×128 · 128×128 matmul)', m: 8, k: 128, n: 128 },
  large: { name: 'large kernels (64×256 · 256×256 matmul)', m: 64, k: 256, n: 256 },
};
const WORKLOADS = values.workloads!.split(',').map((w) => ALL_WORKLOADS[w.trim()] ?? (() => { throw new Error(`unknown workload '${w}' (small, large)`); })());

interface Result {
  throughput: number;
  device: string;
  utilization: number;
  avgBatch: number;
  fns: Array<{ id: string; share: number; achieved: number; done: number; p50: number; p99: number }>;
  timeline: Array<[string, number, number]>;
}

async function measure(w: Workload, opts: SchedulerOptions): Promise<Result> {
  const device = await openDevice(values.device as 'auto', { threads: values.threads ? Number(values.threads) : undefined });
  const host = new GpuHost(device, opts);
  await host.ready();
  const bufs: Record<string, number[]> = {};
  for (const [fn, share] of Object.entries(SHARES)) {
    host.register(fn, { share, memoryMiB: 64, latencyMs: 50, maxQueue: 4 * DEPTH });
    bufs[fn] = [host.createBuffer(fn, w.m * w.k * 4), host.createBuffer(fn, w.k * w.n * 4), host.createBuffer(fn, w.m * w.n * 4)];
    await host.write(fn, bufs[fn]![0]!, 0, new Uint8Array(new Float32Array(w.m * w.k).fill(0.5).buffer));
    await host.write(fn, bufs[fn]![1]!, 0, new Uint8Array(new Float32Array(w.k * w.n).fill(0.25).buffer));
  }
  // Warm up (JIT, estimates), then measure a fixed wall-clock interval.
  let stop = false;
  let counting = false;
  const done: Record<string, number> = { a: 0, b: 0, c: 0 };
  const clients = Object.keys(SHARES).flatMap((fn) => Array.from({ length: DEPTH }, async () => {
    while (!stop) {
      await host.dispatch(fn, Kernel.matmul, bufs[fn]!, [w.m, w.k, w.n]);
      if (counting) done[fn]!++;
    }
  }));
  await new Promise((r) => setTimeout(r, 1000));
  const base = host.scheduler.stats();
  counting = true;
  const t0 = performance.now();
  const timeline: Array<[string, number, number]> = []; // [function, s, achieved share]: plotted (benchmarks/plot.ts)
  const sampler = setInterval(() => host.scheduler.stats().functions.forEach((f) => timeline.push([`${f.id} (quota ${f.share})`, (performance.now() - t0) / 1000, f.achievedShare])), 100);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  clearInterval(sampler);
  const elapsed = (performance.now() - t0) / 1000;
  const st = host.scheduler.stats();
  counting = false;
  stop = true;
  await Promise.all(clients);
  await host.close();
  const used = st.functions.map((f) => f.totalMs - base.functions.find((b) => b.id === f.id)!.totalMs);
  const total = used.reduce((s, x) => s + x, 0);
  return {
    timeline,
    device: device.info.label,
    throughput: Object.values(done).reduce((s, x) => s + x, 0) / elapsed,
    utilization: st.utilization,
    avgBatch: (st.dispatches - base.dispatches) / Math.max(1, st.batches - base.batches),
    fns: st.functions.map((f, i) => ({ id: f.id, share: f.share, achieved: used[i]! / total, done: done[f.id]!, p50: f.p50Ms, p99: f.p99Ms })),
  };
}

/** Mean of several runs of one policy (shares, latencies and throughput averaged). */
function mean(rs: Result[]): Result {
  const avg = (f: (r: Result) => number) => rs.reduce((s, r) => s + f(r), 0) / rs.length;
  return {
    device: rs[0]!.device, timeline: rs[0]!.timeline, throughput: avg((r) => r.throughput), utilization: avg((r) => r.utilization), avgBatch: avg((r) => r.avgBatch),
    fns: rs[0]!.fns.map((f, i) => ({ ...f, achieved: avg((r) => r.fns[i]!.achieved), done: avg((r) => r.fns[i]!.done), p50: avg((r) => r.fns[i]!.p50), p99: avg((r) => r.fns[i]!.p99) })),
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const out: string[] = [
  `# roam gpu sharing benchmark — ${new Date().toISOString()}`,
  '',
  `Command: \`npm run bench:gpu${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}\` · node ${process.version} · ${cpus().length} cores, load average at start ${loadavg().map((l) => l.toFixed(2)).join(' / ')} · ${SECONDS} s measured per run after 1 s warm-up, policies interleaved ${ROUNDS}× (figures: means) · ${DEPTH} requests outstanding per function`,
  '',
  'Three functions with gpu shares 0.5 / 0.3 / 0.2 saturate one device. **share** = roam\'s scheduler (1 s sliding-window',
  'time shares, work-conserving; a function\'s same-shape dispatches batched while its oldest waiting one stays within its',
  '`latencyMs` of 50: wait so far + estimated batch time). **share, batching off** = the same scheduler with one dispatch',
  'per device task, to isolate what batching buys. **fcfs** = the baseline: plain',
  'first-come-first-served time-sharing of the same device, one dispatch per device task. Achieved share = fraction of the',
  'device time used in the measured interval. p50/p99 = request latency, submit to completion, over the last 4096 requests.',
  '',
];
let deviceLabel = '';
for (const w of WORKLOADS) {
  const runs: Record<'share' | 'unbatched' | 'fcfs', Result[]> = { share: [], unbatched: [], fcfs: [] };
  for (let r = 0; r < ROUNDS; r++) {
    runs.share.push(await measure(w, { policy: 'share', windowMs: 1000 }));
    runs.unbatched.push(await measure(w, { policy: 'share', windowMs: 1000, maxBatch: 1 }));
    runs.fcfs.push(await measure(w, { policy: 'fcfs', windowMs: 1000 }));
  }
  const [share, unbatched, fcfs] = [mean(runs.share), mean(runs.unbatched), mean(runs.fcfs)];
  deviceLabel = share.device;
  const perRound = (k: keyof typeof runs) => runs[k].map((x) => x.throughput.toFixed(0)).join(', ');
  out.push(`## ${w.name}`, '', `Device: ${share.device}`, '');
  out.push('| policy | throughput (req/s, mean) | per round | ratio vs fcfs | avg batch | utilization (last window) |', '|---|---|---|---|---|---|');
  out.push(`| share | ${share.throughput.toFixed(0)} | ${perRound('share')} | ${(share.throughput / fcfs.throughput).toFixed(2)}× | ${share.avgBatch.toFixed(1)} | ${pct(share.utilization)} |`);
  out.push(`| share, batching off | ${unbatched.throughput.toFixed(0)} | ${perRound('unbatched')} | ${(unbatched.throughput / fcfs.throughput).toFixed(2)}× | ${unbatched.avgBatch.toFixed(1)} | ${pct(unbatched.utilization)} |`);
  out.push(`| fcfs (baseline) | ${fcfs.throughput.toFixed(0)} | ${perRound('fcfs')} | 1.00× | ${fcfs.avgBatch.toFixed(1)} | ${pct(fcfs.utilization)} |`, '');
  out.push(`Batching effect (share vs share with batching off, same run): ${(share.throughput / unbatched.throughput).toFixed(2)}× throughput; p99 of a ${share.fns[0]!.p99.toFixed(1)} vs ${unbatched.fns[0]!.p99.toFixed(1)} ms.`, '');
  out.push('| function | quota | achieved (share) | error vs quota | p50 / p99 ms (share) | achieved (fcfs) | p50 / p99 ms (fcfs) |', '|---|---|---|---|---|---|---|');
  share.fns.forEach((f, i) => {
    const g = fcfs.fns[i]!;
    out.push(`| ${f.id} | ${f.share} | ${pct(f.achieved)} | ${((f.achieved - f.share) / f.share * 100).toFixed(1)}% | ${f.p50.toFixed(2)} / ${f.p99.toFixed(2)} | ${pct(g.achieved)} | ${g.p50.toFixed(2)} / ${g.p99.toFixed(2)} |`);
  });
  out.push('', await plotLines(`gpu-shares-${WORKLOADS.indexOf(w) + 1}`, { title: `GPU shares over time (policy share, round 1): ${w.name}`, x: { title: 's since measuring began' }, y: { title: 'achieved share (1 s window)', domain: [0, 1] }, series: bySeries(runs.share[0]!.timeline), points: false }), '');
}
if (!values['no-e2e']) {
  const bundles = await buildVariants();
  const GUESTS = 2, ROWS = 32;
  const e2e: Record<'share' | 'fcfs', E2eResult[]> = { share: [], fcfs: [] };
  for (let r = 0; r < ROUNDS; r++) for (const p of ['share', 'fcfs'] as const) e2e[p].push(await endToEnd(bundles, p, SECONDS, GUESTS, ROWS, values.device as 'cpu'));
  const avgE2e = (rs: E2eResult[]): E2eResult => {
    const avg = (f: (r: E2eResult) => number) => rs.reduce((s, r) => s + f(r), 0) / rs.length;
    return {
      callsPerSec: avg((r) => r.callsPerSec), avgBatch: avg((r) => r.avgBatch), utilization: avg((r) => r.utilization),
      fns: rs[0]!.fns.map((f, i) => ({ ...f, achieved: avg((r) => r.fns[i]!.achieved), calls: avg((r) => r.fns[i]!.calls), p99: avg((r) => r.fns[i]!.p99) })),
    };
  };
  const [share, fcfs] = [avgE2e(e2e.share), avgE2e(e2e.fcfs)];
  out.push(`## End to end: functions/mlp through the engine (${values.device} device)`, '',
    `Three copies of functions/mlp (mlp-a/b/c, shares 0.5/0.3/0.2), ${GUESTS} guest threads each, each calling \`infer\` on ${ROWS} rows`,
    `in a loop; every call goes engine → roam:gpu → process channel → the process's one gpu service → scheduler → ${values.device === 'webgpu' ? 'webgpu device process (IPC) → Dawn' : 'cpu device'}`,
    '(9 kernels, ~20 synchronous host calls). The guest threads are handed no port, as in the gateway\'s workers.', '');
  out.push('| policy | calls/s | ratio vs fcfs | avg batch | device utilization (last window) |', '|---|---|---|---|---|');
  out.push(`| share | ${share.callsPerSec.toFixed(0)} | ${(share.callsPerSec / fcfs.callsPerSec).toFixed(2)}× | ${share.avgBatch.toFixed(2)} | ${pct(share.utilization)} |`);
  out.push(`| fcfs (baseline) | ${fcfs.callsPerSec.toFixed(0)} | 1.00× | ${fcfs.avgBatch.toFixed(2)} | ${pct(fcfs.utilization)} |`, '');
  out.push('| function | quota | achieved (share) | calls | p99 ms (share) | achieved (fcfs) | p99 ms (fcfs) |', '|---|---|---|---|---|---|---|');
  share.fns.forEach((f, i) => {
    const g = fcfs.fns[i]!;
    out.push(`| ${f.id} | ${f.share} | ${pct(f.achieved)} | ${f.calls.toFixed(0)} | ${f.p99.toFixed(2)} | ${pct(g.achieved)} | ${g.p99.toFixed(2)} |`);
  });
  out.push('');
}
if (deviceLabel.startsWith('webgpu') && !values['no-hop']) {
  const { processHop } = await import('./process-hop.ts');
  const hop = await processHop(300, ROUNDS);
  out.push('## What the device process costs per call (webgpu)', '',
    'The same device operation on a WebGpuDevice with Dawn in this process, and through ProcessGpuDevice (Dawn in its own',
    `process, IPC with Node's advanced serialization), interleaved, ${ROUNDS} × 300 calls each after 20 warm-up calls.`, '');
  out.push('| operation | in-process p50 / mean µs | device process p50 / mean µs | cost of the hop (p50) |', '|---|---|---|---|');
  for (const h of hop) out.push(`| ${h.op} | ${h.inProcessUs.p50.toFixed(0)} / ${h.inProcessUs.mean.toFixed(0)} | ${h.processUs.p50.toFixed(0)} / ${h.processUs.mean.toFixed(0)} | +${(h.processUs.p50 - h.inProcessUs.p50).toFixed(0)} µs (${(h.processUs.p50 / h.inProcessUs.p50).toFixed(2)}×) |`);
  out.push('');
}
out.push(`Load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' / ')}`, '');
console.log(out.join('\n'));
