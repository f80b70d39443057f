import { cachedBuild } from '../build/cached-build.ts';
import { connect } from '../client/index.ts';
import { listenWire } from '../server/wire-server.ts';
import { DpuPlace } from '../places/dpu-place.ts';
import { serveDemoUi, type DemoUi } from './demo-ui.ts';
import { build, type Histogram } from 'hdr-histogram-js';
import type { LoadMode } from '../places/background-load.ts';
import { loadKeys, runYcsb, shiftAfter, type Sample } from './ycsb.ts';

import { fileURLToPath } from 'node:url';

const NAMES = ['?', 'client', 'dpu', 'host'];

export async function runDemo(o: { seconds: number; window: number; load?: LoadMode; ui?: DemoUi }): Promise<number> {
  const kvDir = fileURLToPath(new URL('../../functions/kv', import.meta.url));
  const kv = { bytes: await cachedBuild(kvDir) };
  const dpu = new DpuPlace();
  await dpu.start();
  // --ui: the places behind `roam serve`'s composition, so /ui shows them live (demo-ui.ts).
  const ui = o.ui ? await serveDemoUi(dpu, o.ui) : null;
  const wired = ui ? null : await listenWire({ host: { workers: 2 }, dpu });
  const server = ui?.wire ?? wired!;
  const id = ui ? await ui.deploy(kv.bytes) : wired!.deploy(kv.bytes).id;
  const client = await connect(ui ? { port: ui.port, ...(o.ui?.token ? { token: o.ui.token } : {}) } : wired!.port);
  const keys = 10_000;
  await loadKeys(client, id, keys);
  await ui?.waitForPage();
  const ms = o.seconds * 1000;
  const t0 = ms / 2;
  process.stdout.write(`roam demo: kv on host (2 workers) + DPU agent (pid ${dpu.child?.pid}), YCSB-B zipfian over ${keys} keys, ${o.window} in flight, place auto (bench:places measures the shift at 64 in flight: --window 64 to compare)\n`);
  process.stdout.write(`host cores made busy at t=${(t0 / 1000).toFixed(1)} s (${o.load === 'spin' ? 'spinning on the shared cores' : 'held 95 % of each 10 ms, the cores left to the DPU agent and the client'})\n\n`);
  process.stdout.write(' t(s) | host ops/s   p50 ms   p99 ms | dpu ops/s    p50 ms   p99 ms | errors\n');
  const printed = new Set<number>();
  const samplesRef: Sample[] = [];
  // Samples go into per-second, per-place histograms as they arrive (a cursor over the samples, no sort):
  // the printer shares the event loop with the server, and sorting a second's ~100k latencies took tens of
  // ms — long enough to delay the very messages whose shift the demo measures.
  const seconds: Array<Map<number, Histogram>> = [];
  let cursor = 0;
  const tick = setInterval(() => {
    for (; cursor < samplesRef.length; cursor++) {
      const x = samplesRef[cursor]!;
      const byPlace = (seconds[Math.floor(x.sent / 1000)] ??= new Map());
      let h = byPlace.get(x.place);
      if (!h) byPlace.set(x.place, (h = build({ lowestDiscernibleValue: 1, highestTrackableValue: 3.6e9, numberOfSignificantValueDigits: 2 })));
      h.recordValue(Math.max(1, Math.round(x.ms * 1000)));
    }
    const now = Math.floor((performance.now() - startAt) / 1000);
    for (let s = 0; s < now; s++) if (!printed.has(s)) {
      printed.add(s);
      const win = seconds[s] ?? new Map<number, Histogram>();
      const col = (p: number) => {
        const h = win.get(p);
        const q = (pct: number) => (h ? (h.getValueAtPercentile(pct) / 1000).toFixed(3) : 'NaN').padStart(8);
        return `${String(h?.totalCount ?? 0).padStart(9)} ${q(50)} ${q(99)}`;
      };
      process.stdout.write(`${String(s + 1).padStart(5)} | ${col(3)} | ${col(2)} | ${win.get(-1)?.totalCount ?? 0}${s * 1000 < t0 && (s + 1) * 1000 > t0 ? '  ← host busy' : ''}\n`);
    }
  }, 200);
  const startAt = performance.now();
  const { samples, fired, busyRetries, start } = await runYcsb(client, id, { durationMs: ms, window: o.window, keys, samples: samplesRef, at: [{ ms: t0, fn: () => server.host.setLoad(0.95, o.load) }] });
  await new Promise((r) => setTimeout(r, 250));
  clearInterval(tick);
  // Measured as in bench:places: from the moment the host actually became busy (the timer may fire late).
  const { shiftMs, p99DuringMs } = shiftAfter(samples, fired[0] ?? t0, 2, 0.8);
  const before = samples.filter((s) => s.sent < t0 && s.sent > 1000);
  const after = samples.filter((s) => s.sent > t0 + 1000);
  const share = (xs: Sample[], p: number) => ((100 * xs.filter((s) => s.place === p).length) / Math.max(1, xs.length)).toFixed(0);
  process.stdout.write(`\nbefore: ${share(before, 3)}% host, ${share(before, 2)}% dpu; after: ${share(after, 3)}% host, ${share(after, 2)}% dpu\n`);
  process.stdout.write(`errors: ${samples.filter((s) => s.place < 0).length}; kv "slot busy" answers re-sent: ${busyRetries} (a reader met a slot locked by a writer at the other place)\n`);
  process.stdout.write(`shift to dpu (≥ 80 % of a 10 ms window) ${Number.isNaN(shiftMs) ? 'not observed' : `${shiftMs} ms after the host became busy`}; p99 during the shift ${p99DuringMs.toFixed(2)} ms\n`);
  const busyAt = start + (fired[0] ?? t0);
  const around = server.steering.shifts.filter((s) => s.at > busyAt - 50 && s.at < busyAt + 200);
  process.stdout.write(`steering decisions around the congestion (handler→place@ms after it): ${around.map((s) => `${(Number(s.handler) & 0xffff) === 2 ? 'put' : 'get'}→${s.to}@${(s.at - busyAt).toFixed(0)}`).join(' ') || 'none'}\n`);
  process.stdout.write(`(place names: ${NAMES.slice(1).join(', ')})\n`);
  client.close();
  if (ui) return ui.keepServing();
  await server.close();
  return 0;
}
