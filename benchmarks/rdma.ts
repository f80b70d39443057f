// npm run bench:rdma — roam's UCX path (engine/rdma) against ucx_perftest for the same operation and
// transport in the same run: 8-byte get, put and fetch-add, latency (one at a time) and ops/s (32 in
// flight), over UCX's shared-memory transports and over TCP (UCX_TLS=tcp), two processes on this
// machine. Goal: ≥ 0.7x of ucx_perftest. Results: RESULTS-rdma.md.
import { spawn, spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { RdmaWorker, rdmaAvailable } from '../engine/rdma/worker.ts';
import type { RemoteRegion } from '../engine/rdma/endpoint.ts';
import type { Done } from '../engine/rdma/worker.ts';
import { hex, startPeer, unhex } from '../test/helpers/rdma.ts';
import { kvKey, kvOnMapped, kvOver } from '../test/helpers/rdma-kv.ts';
import { cachedBuild } from '../engine/build/cached-build.ts';
import { listenWire } from '../engine/server/wire-server.ts';
import { connect } from '../engine/client/index.ts';
import { loadKeys } from '../engine/demo/ycsb.ts';
import { procCpuMs } from './harness.ts';

if (!rdmaAvailable()) { console.error('bench:rdma: the roam_ucx addon is not built (install libucx-dev, npm run build:native)'); process.exit(1); }
if (spawnSync('ucx_perftest', ['-h']).error) { console.error('bench:rdma: ucx_perftest not found (Debian ucx-utils)'); process.exit(1); }

interface Transport { name: string; tls: string; alloc: boolean; iters: number }
const transports: Transport[] = [
  { name: 'shm', tls: 'posix,sysv,cma,self', alloc: true, iters: 200_000 },
  { name: 'shm-registered', tls: 'posix,sysv,cma,self', alloc: false, iters: 20_000 },
  { name: 'tcp', tls: 'tcp', alloc: false, iters: 5_000 },
];
const OPS = [
  { op: 'get', perftest: 'ucp_get' },
  { op: 'put', perftest: 'ucp_put_lat' },
  { op: 'fadd', perftest: 'ucp_fadd' },
] as const;
type Op = (typeof OPS)[number]['op'];

interface Figure { p50us: number; avgus: number; opsPerSec: number }

let port = 14000 + (process.pid % 1000);
/** ucx_perftest's own figures: a server and a client process on loopback. */
async function perftest(test: string, tls: string, iters: number, window: number): Promise<Figure> {
  const p = port++;
  const env = { ...process.env, UCX_TLS: tls };
  const server = spawn('ucx_perftest', ['-p', String(p)], { env, stdio: 'ignore' });
  try {
    for (let attempt = 0; attempt < 50; attempt++) {
      const args = ['127.0.0.1', '-p', String(p), '-t', test, '-s', '8', '-n', String(iters), '-w', String(Math.min(iters / 10, 1000))];
      if (window > 1) args.push('-O', String(window));
      const r = spawnSync('ucx_perftest', args, { env, encoding: 'utf8', timeout: 120_000 });
      const final = /Final:\s+\d+\s+([\d.]+)\s+([\d.]+)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+\d+\s+(\d+)/.exec(r.stdout ?? '');
      if (final) return { p50us: Number(final[1]), avgus: Number(final[2]), opsPerSec: Number(final[3]) };
      await new Promise((res) => setTimeout(res, 100)); // the server was not listening yet
    }
    throw new Error(`ucx_perftest ${test} over ${tls} gave no result`);
  } finally {
    server.kill('SIGKILL');
  }
}

function issuer(r: RemoteRegion, op: Op): (done: Done) => boolean {
  const buf = new Uint8Array(8), io = new Uint8Array(16);
  io[0] = 1;
  if (op === 'get') return (d) => r.get(64, buf, d);
  if (op === 'put') return (d) => r.put(64, buf, d);
  return (d) => r.atomic(128, 0, 8, io, d);
}

/** `iters` operations, `window` in flight; per-operation latency only when window is 1. */
function run(issue: (done: Done) => boolean, iters: number, window: number): Promise<Figure> {
  return new Promise((resolve, reject) => {
    const lat = window === 1 ? new Float64Array(iters) : null;
    let issued = 0, completed = 0, inflight = 0, t = 0;
    const t0 = process.hrtime.bigint();
    const finish = () => {
      const ns = Number(process.hrtime.bigint() - t0);
      let p50 = ns / iters / 1000;
      if (lat) p50 = lat.sort()[Math.floor(iters / 2)]! / 1000;
      resolve({ p50us: p50, avgus: ns / iters / 1000, opsPerSec: (iters * 1e9) / ns });
    };
    const pump = () => {
      while (inflight < window && issued < iters) {
        if (lat) t = Number(process.hrtime.bigint());
        issued++;
        if (issue(onDone)) { if (lat) lat[completed] = Number(process.hrtime.bigint()) - t; completed++; }
        else inflight++;
      }
      if (completed === iters) finish();
    };
    const onDone: Done = (e) => {
      if (e) return reject(e);
      if (lat) lat[completed] = Number(process.hrtime.bigint()) - t;
      inflight--;
      completed++;
      pump();
    };
    pump();
  });
}

const load0 = loadavg();
{
  // The floor under every roam figure: one call from JS into the addon.
  const w = RdmaWorker.open();
  const N = 2_000_000;
  for (let i = 0; i < N / 10; i++) w.addon.nop();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) w.addon.nop();
  console.log(`N-API call floor: ${(Number(process.hrtime.bigint() - t0) / N).toFixed(1)} ns per call`);
  w.close();
}
console.log(`bench:rdma  load ${load0.map((l) => l.toFixed(2)).join(' ')}`);
const rows: string[] = [];
for (const t of transports) {
  process.env.UCX_TLS = t.tls;
  const w = RdmaWorker.open();
  const peer = await startPeer({ UCX_TLS: t.tls, RDMA_PEER_ALLOC: t.alloc ? '1' : '0' });
  const ep = w.connect({ address: unhex(peer.hello.address), pid: peer.hello.pid, host: peer.hello.host });
  const d = w.descriptor();
  await peer.call({ op: 'connect', address: hex(d.address), pid: d.pid, host: d.host });
  const remote = ep.unpack(unhex(peer.hello.key));
  const lanes = ep.lanes();
  console.log(`\n${t.name}: UCX_TLS=${t.tls}, lanes ${lanes.all.join(' ')}, roam access mode '${remote.mode}'`);
  for (const { op, perftest: test } of OPS) {
    const issue = issuer(remote, op);
    await run(issue, Math.min(t.iters, 2000), 1); // warm-up
    const oursLat = await run(issue, t.iters, 1);
    const oursRate = await run(issue, t.iters, 32);
    const ptLat = await perftest(test, t.tls, t.iters, 1);
    const ptRate = test === 'ucp_put_lat' ? await perftest('ucp_put_bw', t.tls, t.iters, 32) : await perftest(test, t.tls, t.iters, 32);
    const line = `| ${t.name} | ${op} (${remote.mode}) | ${oursLat.p50us.toFixed(2)} / ${oursLat.avgus.toFixed(2)} | ${ptLat.p50us.toFixed(2)} / ${ptLat.avgus.toFixed(2)} | ${(ptLat.p50us / oursLat.p50us).toFixed(2)}x | ${Math.round(oursRate.opsPerSec)} | ${ptRate.opsPerSec} | ${(oursRate.opsPerSec / ptRate.opsPerSec).toFixed(2)}x |`;
    rows.push(line);
    console.log(line);
    if (t.alloc) {
      // The same operation on the region mapped into this process (RemoteRegion.map): no call at all.
      const m = mapped(remote.map(), op, t.iters * 10);
      const ml = `| ${t.name} | ${op} (mapped) | ${(m * 1e6).toFixed(3)} | ${ptLat.p50us.toFixed(2)} / ${ptLat.avgus.toFixed(2)} | ${(ptLat.p50us / (m * 1e6)).toFixed(2)}x | ${Math.round(1 / m)} | ${ptRate.opsPerSec} | ${(1 / m / ptRate.opsPerSec).toFixed(2)}x |`;
      rows.push(ml);
      console.log(ml);
    }
  }
  peer.child.kill('SIGKILL');
  w.close();
}

/** Seconds per 8-byte operation on a mapped region, `n` in a row (median of 5 passes). */
function mapped(sab: SharedArrayBuffer, op: Op, n: number): number {
  const u32 = new Uint32Array(sab), i64 = new BigInt64Array(sab);
  let sink = 0;
  const pass = () => {
    const t0 = process.hrtime.bigint();
    if (op === 'get') for (let i = 0; i < n; i++) sink += u32[16]! ^ u32[17]!;
    else if (op === 'put') for (let i = 0; i < n; i++) { u32[16] = i; u32[17] = i; }
    else for (let i = 0; i < n; i++) Atomics.add(i64, 16, 1n);
    return Number(process.hrtime.bigint() - t0) / 1e9 / n;
  };
  const times = Array.from({ length: 5 }, pass).sort((a, b) => a - b);
  if (sink === 0.5) console.log(sink); // keeps the reads
  return times[2]!;
}
// Client-place kv get: the kv guest in this process, its table at the owner. Over the wire protocol
// (today: REGION_READ / REGION_ATOMIC frames answered by the server's JavaScript) and over UCX.
const KEYS = 1000;
const kvBytes = await cachedBuild('functions/kv');
const kvRows: string[] = [];
let wireRate = 0;
{
  const server = await listenWire({ host: { workers: 1 } });
  const id = server.deploy(kvBytes).id;
  const client = await connect(server.port);
  await loadKeys(client, id, KEYS);
  const key = (k: number) => kvKey(k);
  const run = async (n: number) => {
    let i = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 16 }, async () => { while (i < n) await client.call('kv/get', key((i++ % KEYS) + 1), { place: 'client' }); }));
    return n / ((performance.now() - t0) / 1000);
  };
  await run(300);
  wireRate = await run(3000);
  kvRows.push(`| wire protocol (today), 16 in flight | ${Math.round(wireRate)} | 1.00x | — |`);
  client.close();
  await server.close();
}
for (const t of [transports[0]!, transports[2]!]) {
  process.env.UCX_TLS = t.tls;
  const w = RdmaWorker.open();
  const peer = await startPeer({ UCX_TLS: t.tls, RDMA_PEER_ALLOC: t.alloc ? '1' : '0', RDMA_PEER_SIZE: String(1 << 20) });
  await peer.call({ op: 'fill', off: 0, len: 1 << 20, byte: 0 });
  const ep = w.connect({ address: unhex(peer.hello.address), pid: peer.hello.pid, host: peer.hello.host });
  const remote = ep.unpack(unhex(peer.hello.key));
  const kv = kvOver(remote, kvBytes);
  for (let k = 1; k <= KEYS; k++) kv.call('put', kvKey(k, new TextEncoder().encode(`value-${k}`.padEnd(32, '.'))));
  const n = t.name === 'shm' ? 100_000 : 10_000;
  for (let i = 0; i < n / 10; i++) kv.call('get', kvKey((i % KEYS) + 1));
  const cpu0 = procCpuMs(peer.hello.pid), t0 = performance.now();
  for (let i = 0; i < n; i++) kv.call('get', kvKey((i % KEYS) + 1));
  const rate = n / ((performance.now() - t0) / 1000), ownerCpu = procCpuMs(peer.hello.pid) - cpu0;
  kvRows.push(`| UCX ${t.name} ('${remote.mode}'), one at a time | ${Math.round(rate)} | ${(rate / wireRate).toFixed(2)}x | ${((ownerCpu * 1000) / n).toFixed(2)} µs (no owner JS) |`);
  if (t.alloc) {
    const local = kvOnMapped(remote.map(), kvBytes);
    const m = n * 5;
    for (let i = 0; i < m / 10; i++) local.call('get', kvKey((i % KEYS) + 1));
    const c0 = procCpuMs(peer.hello.pid), t1 = performance.now();
    for (let i = 0; i < m; i++) local.call('get', kvKey((i % KEYS) + 1));
    const mr = m / ((performance.now() - t1) / 1000);
    kvRows.push(`| UCX ${t.name}, table mapped into the client (map), one at a time | ${Math.round(mr)} | ${(mr / wireRate).toFixed(2)}x | ${(((procCpuMs(peer.hello.pid) - c0) * 1000) / m).toFixed(2)} µs |`);
  }
  peer.child.kill('SIGKILL');
  w.close();
}
console.log('\n| client-place kv get | ops/s | vs wire | owner CPU per get |');
console.log('|---|---|---|---|');
for (const r of kvRows) console.log(r);

console.log('\n| transport | op (mode) | roam µs p50 / avg | ucx_perftest µs p50 / avg | latency ratio (perftest p50 / roam p50) | roam ops/s (32 in flight) | ucx_perftest ops/s (-O 32) | rate ratio |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(`\nload before ${load0.map((l) => l.toFixed(2)).join(' ')}, after ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
process.exit(0);
