import { cachedBuild } from './cached-build.ts';
import { connect } from '../client/index.ts';
import { listenWire } from './server.ts';
import { DpuPlace } from './dpu-place.ts';
import { loadKeys, percentile, runYcsb, shiftAfter, type Sample } from './ycsb.ts';

const stamp = (t: number) => `${((performance.now() - t) / 1000).toFixed(1)} s`;
import { fileURLToPath } from 'node:url';

const NAMES = ['?', 'client', 'dpu', 'host'];

export async function runDemo(o: { seconds: number; window: number }): Promise<number> {
  const kvDir = fileURLToPath(new URL('../../functions/kv', import.meta.url));
  const kv = { bytes: await cachedBuild(kvDir) };
  const dpu = new DpuPlace();
  await dpu.start();
  const server = await listenWire({ host: { workers: 2 }, dpu });
  const id = server.deploy(kv.bytes).id;
  const client = await connect(server.port);
  const keys = 10_000;
  await loadKeys(client, id, keys);
  const ms = o.seconds * 1000;
  const t0 = ms / 2;
  process.stdout.write(`roam demo: kv on host (2 workers) + DPU agent (pid ${dpu.child?.pid}), YCSB-B zipfian over ${keys} keys, ${o.window} in flight, place auto (bench:places measures the shift at 64 in flight: --window 64 to compare)\n`);
  process.stdout.write(`host cores made busy at t=${(t0 / 1000).toFixed(1)} s\n\n`);
  process.stdout.write(' t(s) | host ops/s   p50 ms   p99 ms | dpu ops/s    p50 ms   p99 ms | errors\n');
  const printed = new Set<number>();
  const samplesRef: Sample[] = [];
  // Samples are bucketed by second as they arrive (a cursor, not a scan of every sample each tick):
  // the printer shares the event loop with the server, and must not stall it while steering shifts.
  const buckets: Sample[][] = [];
  let cursor = 0;
  const tick = setInterval(() => {
    for (; cursor < samplesRef.length; cursor++) {
      const x = samplesRef[cursor]!;
      (buckets[Math.floor(x.sent / 1000)] ??= []).push(x);
    }
    const now = Math.floor((performance.now() - startAt) / 1000);
    for (let s = 0; s < now; s++) if (!printed.has(s)) {
      printed.add(s);
      const win = buckets[s] ?? [];
      const col = (p: number) => {
        const l = win.filter((x) => x.place === p).map((x) => x.ms);
        return `${String(l.length).padStart(9)} ${percentile(l, 50).toFixed(3).padStart(8)} ${percentile(l, 99).toFixed(3).padStart(8)}`;
      };
      process.stdout.write(`${String(s + 1).padStart(5)} | ${col(3)} | ${col(2)} | ${win.filter((x) => x.place < 0).length}${s * 1000 < t0 && (s + 1) * 1000 > t0 ? '  ← host busy' : ''}\n`);
    }
  }, 200);
  const startAt = performance.now();
  const { samples, fired } = await runYcsb(client, id, { durationMs: ms, window: o.window, keys, samples: samplesRef, at: [{ ms: t0, fn: () => server.host.setLoad(0.95) }] });
  await new Promise((r) => setTimeout(r, 250));
  clearInterval(tick);
  // Measured as in bench:places: from the moment the host actually became busy (the timer may fire late).
  const { shiftMs, p99DuringMs } = shiftAfter(samples, fired[0] ?? t0, 2, 0.8);
  const before = samples.filter((s) => s.sent < t0 && s.sent > 1000);
  const after = samples.filter((s) => s.sent > t0 + 1000);
  const share = (xs: Sample[], p: number) => ((100 * xs.filter((s) => s.place === p).length) / Math.max(1, xs.length)).toFixed(0);
  process.stdout.write(`\nbefore: ${share(before, 3)}% host, ${share(before, 2)}% dpu; after: ${share(after, 3)}% host, ${share(after, 2)}% dpu\n`);
  process.stdout.write(`shift to dpu (≥ 80 % of a 10 ms window) ${Number.isNaN(shiftMs) ? 'not observed' : `${shiftMs} ms after the host became busy`}; p99 during the shift ${p99DuringMs.toFixed(2)} ms\n`);
  process.stdout.write(`steering decisions: ${server.steering.shifts.map((s) => `${s.to}@${((s.at - startAt) / 1000).toFixed(2)}s`).slice(-6).join(' ')}\n`);
  process.stdout.write(`(place names: ${NAMES.slice(1).join(', ')})\n`);
  client.close();
  await server.close();
  return 0;
}
