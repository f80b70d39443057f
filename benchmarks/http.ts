/**
 * bench:http — a trivial function over HTTP (functions/hello `greet`) against a bare node:http server
 * answering the same bytes, and roam's own /healthz: same load generator (autocannon, same machine),
 * interleaved rounds, each server in its own process. Prints req/s, p50 and p99 and the ratio to the
 * bare server. Goal (issue "One engine"): roam ≥ 0.6x of the bare server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { cachedBuild } from '../engine/build/cached-build.ts';

const ROOT = join(import.meta.dirname, '..');
const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, duration: { type: 'string', default: '5' }, connections: { type: 'string', default: '32' }, threads: { type: 'string' }, out: { type: 'string' } } });
const ROUNDS = Number(args.rounds);
const DURATION = Number(args.duration);
const CONNECTIONS = Number(args.connections);

function start(cmd: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, cmd, { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /serving on (http:\/\/[^\s"]+)/.exec(out);
      if (m) resolve({ url: m[1]!, child });
    });
    child.on('exit', (code) => reject(new Error(`${cmd.join(' ')} exited with ${code}`)));
  });
}

interface Load { rps: number; p50: number; p99: number; bad: number }
async function load(url: string, seconds: number): Promise<Load> {
  const r = await autocannon({ url, connections: CONNECTIONS, duration: seconds, pipelining: 1 });
  return { rps: r.requests.total / r.duration, p50: r.latency.p50, p99: r.latency.p99, bad: r.non2xx + r.errors };
}

const median = (xs: Load[]) => [...xs].sort((a, b) => a.rps - b.rps)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const file = join(tmpdir(), `roam-bench-hello-${process.pid}.wasm`);
  writeFileSync(file, await cachedBuild(join(ROOT, 'functions/hello')));
  const loadBefore = loadavg()[0]!;
  const bare = await start([join(ROOT, 'benchmarks/http-bare-server.mjs')]);
  const roam = await start([join(ROOT, 'bin/roam.js'), 'serve', '--no-auth', '--port', '0', '--bundle', file, ...(args.threads ? ['--threads', args.threads] : [])]);
  const cases = { bare: `${bare.url}/fn/greet/ann`, roam: `${roam.url}/fn/greet/ann`, healthz: `${roam.url}/healthz` };
  const results: Record<string, Load[]> = { bare: [], roam: [], healthz: [] };
  try {
    for (const url of Object.values(cases)) await load(url, 2); // warm-up: JIT, workers, connections
    for (let i = 0; i < ROUNDS; i++) for (const [name, url] of Object.entries(cases)) results[name]!.push(await load(url, DURATION));
  } finally {
    bare.child.kill('SIGTERM');
    roam.child.kill('SIGTERM');
  }
  const m = { bare: median(results.bare!), roam: median(results.roam!), healthz: median(results.healthz!) };
  const lines = [
    '# HTTP function path (`npm run bench:http`)',
    '',
    `Run ${new Date().toISOString()} on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; 1-minute load ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after.`,
    `Command: \`npm run bench:http -- --rounds ${ROUNDS} --duration ${DURATION} --connections ${CONNECTIONS}\`: ${ROUNDS} interleaved rounds of ${DURATION} s, ${CONNECTIONS} connections, autocannon on the same machine; each server in its own process; the median round by req/s.`,
    '',
    '| case | req/s | p50 ms | p99 ms | non-2xx + errors | vs bare |',
    '|---|---:|---:|---:|---:|---:|',
    ...Object.entries(m).map(([name, r]) => `| ${name === 'bare' ? 'bare node:http server, same bytes' : name === 'roam' ? 'roam: hello `greet` over /fn/' : 'roam: /healthz (no guest)'} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.bad} | ${(r.rps / m.bare.rps).toFixed(2)}x |`),
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (args.out) writeFileSync(args.out, lines.join('\n') + '\n');
}

await main();
