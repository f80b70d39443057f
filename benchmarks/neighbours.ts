/**
 * bench:neighbours — a noisy neighbour: p50/p99 of a well-behaved handler (kv get over the wire) and a
 * well-behaved function (hello greet over HTTP) alone, then with four clients flooding another bundle's
 * fuel-bounded spin handler beside them, on one `roam serve`. Goal (hardening issue): p99 with the
 * spinner ≤ 2x p99 without. The baseline is the same server in the same run, without the spinner.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { cachedBuild } from '../engine/build/cached-build.ts';
import { connect, type Client } from '../engine/client/index.ts';

const ROOT = join(import.meta.dirname, '..');
const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, out: { type: 'string' } } });
const SECONDS = Number(args.seconds);

function serve(files: string[]): Promise<{ url: string; port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/roam.js'), 'serve', '--no-auth', '--port', '0', ...files.flatMap((f) => ['--bundle', f])], { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /serving on (http:\/\/[^\s"]+)/.exec(out);
      if (m) resolve({ url: m[1]!, port: Number(new URL(m[1]!).port), child });
    });
    child.on('exit', (code) => reject(new Error(`roam serve exited with ${code}`)));
  });
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

/** Four closed-loop clients doing kv gets for `seconds`; latencies in ms. */
async function kvGets(port: number, seconds: number): Promise<number[]> {
  const key = Buffer.alloc(8);
  key.writeBigUInt64LE(1n);
  const clients = await Promise.all(Array.from({ length: 4 }, () => connect(port, { clientPlace: false })));
  await clients[0]!.send('kv/put', Buffer.concat([key, Buffer.from('v')]));
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  await Promise.all(clients.map(async (c) => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await c.send('kv/get', key);
      lat.push(performance.now() - t0);
    }
  }));
  for (const c of clients) c.close();
  return lat;
}

/** Four clients keeping eight spin messages each in flight until `stop` resolves. */
async function spinners(port: number, stop: Promise<void>): Promise<number> {
  const clients: Client[] = await Promise.all(Array.from({ length: 4 }, () => connect(port, { clientPlace: false })));
  const { id } = await clients[0]!.resolve('misbehave');
  let done = 0;
  let stopped = false;
  void stop.then(() => (stopped = true));
  await Promise.all(clients.flatMap((c) => Array.from({ length: 8 }, async () => {
    while (!stopped) {
      await c.sendRaw(id, 2, new Uint8Array(4), 'auto').catch(() => {});
      done++;
    }
  })));
  for (const c of clients) c.close();
  return done;
}

async function phase(url: string, port: number, withSpinner: boolean) {
  let release!: () => void;
  const stop = new Promise<void>((r) => (release = r));
  const spin = withSpinner ? spinners(port, stop) : Promise.resolve(0);
  const [kv, http] = await Promise.all([kvGets(port, SECONDS), autocannon({ url: `${url}/fn/greet/ann`, connections: 8, duration: SECONDS })]);
  release();
  const spins = await spin;
  return { kvP50: pct(kv, 0.5), kvP99: pct(kv, 0.99), kvOps: kv.length / SECONDS, fnP50: http.latency.p50, fnP99: http.latency.p99, fnRps: http.requests.average, spins };
}

async function main(): Promise<void> {
  const dir = tmpdir();
  const files = await Promise.all(['functions/kv', 'functions/hello', 'test/fixtures/misbehave'].map(async (d) => {
    const f = join(dir, `roam-neighbours-${d.split('/').pop()}-${process.pid}.wasm`);
    writeFileSync(f, await cachedBuild(join(ROOT, d)));
    return f;
  }));
  const load0 = loadavg()[0]!;
  const s = await serve(files);
  try {
    await phase(s.url, s.port, false); // warm-up: JIT, measured costs, inline lanes
    const alone = await phase(s.url, s.port, false);
    const noisy = await phase(s.url, s.port, true);
    const f = (x: number) => x.toFixed(2);
    const lines = [
      '## Noisy neighbour (`npm run bench:neighbours`)',
      '',
      `Run ${new Date().toISOString()} on ${cpus().length} cores, Node ${process.version}; 1-minute load ${load0.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after. One \`roam serve\` (2 host workers) with kv, hello and a spin handler (fuel-bounded, ~1 ms a message); ${SECONDS} s per phase after a warm-up phase.`,
      '',
      '| case | kv get p50 ms | kv get p99 ms | kv gets/s | greet p50 ms | greet p99 ms | greet req/s | spin messages |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      `| alone | ${f(alone.kvP50)} | ${f(alone.kvP99)} | ${alone.kvOps.toFixed(0)} | ${alone.fnP50} | ${alone.fnP99} | ${alone.fnRps.toFixed(0)} | 0 |`,
      `| beside 4 spinning clients | ${f(noisy.kvP50)} | ${f(noisy.kvP99)} | ${noisy.kvOps.toFixed(0)} | ${noisy.fnP50} | ${noisy.fnP99} | ${noisy.fnRps.toFixed(0)} | ${noisy.spins} |`,
      `| ratio (goal p99 ≤ 2x) | | ${(noisy.kvP99 / alone.kvP99).toFixed(2)}x | | | ${(noisy.fnP99 / Math.max(alone.fnP99, 1)).toFixed(2)}x | | |`,
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');
    if (args.out) writeFileSync(args.out, lines.join('\n') + '\n');
  } finally {
    s.child.kill('SIGTERM');
  }
}

await main();
