/**
 * bench:http — a trivial function over HTTP (functions/hello `greet`) against a bare node:http server
 * answering the same bytes, and roam's own /healthz: same load generator (autocannon, same machine),
 * interleaved rounds, each server in its own process. Prints req/s, p50 and p99 and the ratio to the
 * bare server. Goal (issue "One engine"): roam ≥ 0.6x of the bare server.
 *
 * Beside throughput, each server's CPU time per request (all its threads, from /proc on Linux): on a
 * machine shared with other work, throughput follows the load, CPU per request much less. And where
 * `greet` ran: on the network thread (inline) or on the host workers, from roam's /v1/stats.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { cachedBuild } from '../engine/build/cached-build.ts';

const ROOT = join(import.meta.dirname, '..');
// --warmup: seconds of load per server before the rounds. V8 optimizes the hot path on background threads: on a
// loaded machine (load ~30) they wait for a core, and a roam still running baseline code served 5x fewer requests
// at 5x the CPU per request (perf: Builtins_LoadIC, TurboFan's GraphReducer on the platform threads).
const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, duration: { type: 'string', default: '5' }, warmup: { type: 'string', default: '5' }, connections: { type: 'string', default: '32' }, threads: { type: 'string' }, out: { type: 'string' } } });
const ROUNDS = Number(args.rounds);
const DURATION = Number(args.duration);
const CONNECTIONS = Number(args.connections);
const WARMUP = Number(args.warmup);

function start(cmd: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, cmd, { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let out = '';
    // After the address, the server's log lines (one per greet request) are drained and dropped: keeping and
    // scanning them here would cost the load generator's process, not the server.
    const onData = (c: Buffer) => {
      out += c;
      const m = /serving on (http:\/\/[^\s"]+)/.exec(out);
      if (!m) return;
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      resolve({ url: m[1]!, child });
    };
    child.stdout!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${cmd.join(' ')} exited with ${code}`)));
  });
}

/** A free port: the kernel's pick for a listener closed at once (a bench's race, not a test's). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * roam with its log on /dev/null, as a server whose log goes to a file or a collector: hello `greet` logs a
 * line per request, and a pipe to this process would bill their reading to the load generator (it shares the
 * 2 cores). Ready when /healthz answers.
 */
async function startQuiet(cmd: string[]): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [...cmd, '--port', String(port)], { stdio: 'ignore' });
  let exited: Error | null = null;
  child.on('exit', (code) => (exited = new Error(`${cmd.join(' ')} exited with ${code}`)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (exited) throw exited;
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) return { url, child };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error(`${cmd.join(' ')}: not ready after 30 s`);
}

/** Clock ticks per second of /proc's CPU times. */
const TICKS = existsSync('/proc/self/stat') ? Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100 : 0;

/** CPU time (user + system) used, µs: by a whole process, or by its main thread (`task/PID`: the network thread); null where /proc is not there. */
function cpuUs(pid: number, mainThread = false): number | null {
  if (!TICKS) return null;
  const f = readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) / TICKS) * 1e6;
}

interface Load { rps: number; p50: number; p99: number; bad: number; cpuPerReq: number | null; mainPerReq: number | null }
async function load(url: string, seconds: number, pid: number): Promise<Load> {
  const c0 = cpuUs(pid);
  const m0 = cpuUs(pid, true);
  const r = await autocannon({ url, connections: CONNECTIONS, duration: seconds, pipelining: 1 });
  const c1 = cpuUs(pid);
  const m1 = cpuUs(pid, true);
  const per = (a: number | null, b: number | null) => (a === null || b === null ? null : (b - a) / r.requests.total);
  return { rps: r.requests.total / r.duration, p50: r.latency.p50, p99: r.latency.p99, bad: r.non2xx + r.errors, cpuPerReq: per(c0, c1), mainPerReq: per(m0, m1) };
}

/** Runs of `greet` on the network thread and in all, from roam's /v1/stats (served with --no-auth). */
async function placeOfGreet(url: string): Promise<{ inline: number; calls: number }> {
  const s = (await (await fetch(`${url}/v1/stats`)).json()) as { inlineRuns: number; bundles: Record<string, { calls: number }> };
  return { inline: s.inlineRuns, calls: s.bundles.hello?.calls ?? 0 };
}

const median = (xs: Load[]) => [...xs].sort((a, b) => a.rps - b.rps)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const file = join(tmpdir(), `roam-bench-hello-${process.pid}.wasm`);
  writeFileSync(file, await cachedBuild(join(ROOT, 'functions/hello')));
  const loadBefore = loadavg()[0]!;
  const bare = await start([join(ROOT, 'benchmarks/http-bare-server.mjs')]);
  const roam = await startQuiet([join(ROOT, 'bin/roam.js'), 'serve', '--no-auth', '--bundle', file, ...(args.threads ? ['--threads', args.threads] : [])]);
  const cases = { bare: `${bare.url}/fn/greet/ann`, roam: `${roam.url}/fn/greet/ann`, healthz: `${roam.url}/healthz` };
  const pids: Record<string, number> = { bare: bare.child.pid!, roam: roam.child.pid!, healthz: roam.child.pid! };
  const results: Record<string, Load[]> = { bare: [], roam: [], healthz: [] };
  let place = { inline: 0, calls: 0 };
  try {
    for (const [name, url] of Object.entries(cases)) await load(url, WARMUP, pids[name]!); // warm-up: JIT, workers, connections
    const before = await placeOfGreet(roam.url);
    for (let i = 0; i < ROUNDS; i++) for (const [name, url] of Object.entries(cases)) results[name]!.push(await load(url, DURATION, pids[name]!));
    const after = await placeOfGreet(roam.url);
    place = { inline: after.inline - before.inline, calls: after.calls - before.calls };
  } finally {
    bare.child.kill('SIGTERM');
    roam.child.kill('SIGTERM');
  }
  const m = { bare: median(results.bare!), roam: median(results.roam!), healthz: median(results.healthz!) };
  // CPU per request: the median over the rounds (its own order, not the req/s median round's).
  const cpu = (xs: Load[], key: 'cpuPerReq' | 'mainPerReq') => (xs[0]?.[key] === null ? null : [...xs].map((x) => x[key]!).sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
  const names = ['bare', 'roam', 'healthz'] as const;
  const cpuOf = Object.fromEntries(names.map((n) => [n, cpu(results[n]!, 'cpuPerReq')])) as Record<(typeof names)[number], number | null>;
  const mainOf = Object.fromEntries(names.map((n) => [n, cpu(results[n]!, 'mainPerReq')])) as Record<(typeof names)[number], number | null>;
  const cpuCell = (name: keyof typeof cpuOf) => {
    const c = cpuOf[name];
    const t = mainOf[name];
    return c === null || t === null ? '— | — | —' : `${c.toFixed(1)} | ${(cpuOf.bare! / c).toFixed(2)}x | ${t.toFixed(1)}`;
  };
  const lines = [
    '# HTTP function path (`npm run bench:http`)',
    '',
    `Run ${new Date().toISOString()} on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; 1-minute load ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after.`,
    `Command: \`npm run bench:http -- --rounds ${ROUNDS} --duration ${DURATION} --warmup ${WARMUP} --connections ${CONNECTIONS}\`: ${WARMUP} s of warm-up per server, then ${ROUNDS} interleaved rounds of ${DURATION} s, ${CONNECTIONS} connections, autocannon on the same machine; each server in its own process; the median round by req/s; server CPU per request: each server process's CPU time (all threads, from /proc) per request served, and its main thread's alone, the median round.`,
    '',
    '| case | req/s | p50 ms | p99 ms | non-2xx + errors | vs bare | server CPU µs/request | requests per CPU-second vs bare | network thread CPU µs/request |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...Object.entries(m).map(([name, r]) => `| ${name === 'bare' ? 'bare node:http server, same bytes' : name === 'roam' ? 'roam: hello `greet` over /fn/' : 'roam: /healthz (no guest)'} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.bad} | ${(r.rps / m.bare.rps).toFixed(2)}x | ${cpuCell(name as keyof typeof cpuOf)} |`),
    '',
    `\`greet\` ran on roam's network thread (inline) for ${place.inline} of its ${place.calls} calls in the measured rounds (${place.calls ? ((100 * place.inline) / place.calls).toFixed(1) : '0'}%), the rest on the host workers; \`roam serve\`'s defaults (\`--inline-us 100\`).`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (args.out) writeFileSync(args.out, lines.join('\n') + '\n');
}

await main();
