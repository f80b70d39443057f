// npm run bench:rdma (second part) — client-place kv get through a real `roam serve --rdma` process:
// connect(…, { rdma: true }) (the guest's region calls over UCX) against connect(…) (REGION_* frames
// answered by the server's JS), same server, same keys, same concurrency, interleaved rounds.
// Also the server process's CPU per get. Results: RESULTS-rdma.md.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { rdmaAvailable } from '../engine/rdma/worker.ts';
import { connect, type Client } from '../engine/client/index.ts';
import { bundleFile, ROOT } from '../test/helpers/build.ts';
import { kvKey } from '../test/helpers/rdma-kv.ts';
import { median, procCpuMs } from './harness.ts';

if (!rdmaAvailable()) {
  console.error('bench:rdma: the roam_ucx addon is not built (install libucx-dev, npm run build:native)');
  process.exit(1);
}

const KEYS = 1000;
const ROUND_MS = Number(process.env.ROUND_MS ?? 1500);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const load0 = loadavg()[0]!;

const server = spawn(process.execPath, [join(ROOT, 'bin/roam.js'), 'serve', '--rdma', '--no-auth', '--port', '0', '--workers', '1', '--bundle', await bundleFile('functions/kv')], { stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
const url = await new Promise<string>((resolve, reject) => {
  server.stdout!.on('data', (c) => {
    out += c;
    const m = /serving on (http:\/\/[^\s"]+)/.exec(out);
    if (m) resolve(m[1]!);
  });
  server.on('exit', (code) => reject(new Error(`roam serve exited with ${code}`)));
});
const port = Number(new URL(url).port);
const transports = /rdma: (.*)/.exec(out)?.[1] ?? '?';

try {
  const loader = await connect(port);
  for (let k = 0; k < KEYS; k += 100) await Promise.all(Array.from({ length: 100 }, (_, i) => loader.call('kv/put', kvKey(1 + k + i, new Uint8Array(32).fill(k + i)), { place: 'host' })));
  loader.close();
  const ucx = await connect(port, { rdma: true, clientPlace: false });
  const wire = await connect(port, { clientPlace: false });
  const get = (c: Client, k: number) => c.call('kv/get', kvKey(1 + (k % KEYS)), { place: 'client' });
  for (let i = 0; i < 300; i++) await Promise.all([get(ucx, i), get(wire, i)]); // fetch, compile, warm
  if (ucx.regionPath.path !== 'ucx') throw new Error(`the rdma client is on ${ucx.regionPath.path}: ${ucx.regionPath.reason}`);

  const rows: string[] = [];
  for (const inFlight of [1, 16]) {
    const rates = { ucx: [] as number[], wire: [] as number[] };
    const cpu = { ucx: [] as number[], wire: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, c] of [['ucx', ucx], ['wire', wire]] as const) {
        let n = 0;
        const c0 = procCpuMs(server.pid!);
        const t0 = performance.now();
        const end = t0 + ROUND_MS;
        await Promise.all(Array.from({ length: inFlight }, async (_, lane) => {
          while (performance.now() < end) await get(c, lane * 61 + n++);
        }));
        const s = (performance.now() - t0) / 1000;
        rates[name].push(n / s);
        cpu[name].push(((procCpuMs(server.pid!) - c0) * 1000) / n); // µs of server CPU per get
      }
    }
    const u = median(rates.ucx), w = median(rates.wire);
    rows.push(`| wire protocol (REGION_* frames, server JS), ${inFlight} in flight | ${w.toFixed(0)} | 1.00x | ${median(cpu.wire).toFixed(1)} µs |`);
    rows.push(`| UCX via \`roam serve --rdma\` (${ucx.regionPath.reason}), ${inFlight} in flight | ${u.toFixed(0)} | **${(u / w).toFixed(2)}x** | ${median(cpu.ucx).toFixed(1)} µs |`);
  }
  ucx.close();
  wire.close();
  console.log(`client-place kv get through roam serve --rdma (${transports}); median of ${ROUNDS} interleaved ${ROUND_MS} ms rounds; load ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}\n`);
  console.log('| client-place kv get | ops/s | vs wire | server CPU per get |\n|---|---|---|---|');
  for (const r of rows) console.log(r);
} finally {
  server.kill('SIGKILL');
}
