// The issue-15 patterns (benchmarks/mpi/patterns.c: ping-pong with a status, 64-message window
// bandwidth one way and both ways, allreduce/bcast/reduce/alltoall/barrier at 2 and 4 ranks),
// compiled with `roam cc` and with MPICH's mpicc, run interleaved in rounds in one invocation:
// native MPICH (baseline), the Wasm on `--mpi native`, the Wasm embedded. Medians per figure and
// the ratio against the baseline, with the issue's goals checked. Returns the markdown section.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { compileC } from '../../engine/mpi/cc.ts';

const ROAM = fileURLToPath(new URL('../../bin/roam.js', import.meta.url));
const SRC = fileURLToPath(new URL('./patterns.c', import.meta.url));
const JOB_TIMEOUT_MS = Number(process.env.PATTERNS_JOB_TIMEOUT_S ?? 120) * 1000;
type Figures = Map<string, number>; // "latency 0" -> µs, "bw 8" -> MB/s, "coll allreduce 8" -> µs

function parse(out: string): Figures {
  const m = new Map<string, number>();
  for (const l of out.split('\n')) {
    const x = /^(latency|bw|bibw) (\d+) (\S+)/.exec(l) ?? /^(coll \S+) (\d+) (\S+)/.exec(l);
    if (x) m.set(`${x[1]} ${x[2]}`, Number(x[3]));
  }
  return m;
}
const median = (xs: number[]) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return v.length ? (v[(v.length - 1) >> 1] + v[v.length >> 1]) / 2 : NaN;
};

export function runPatterns(dir: string, env: NodeJS.ProcessEnv, rounds: number, iters: number): { md: string; summary: string } {
  const wasm = join(dir, 'patterns.wasm'), native = join(dir, 'patterns');
  compileC([SRC], wasm);
  execFileSync('mpicc', ['-O2', '-w', SRC, '-o', native]);
  const load0 = loadavg().map((x) => x.toFixed(1)).join(', ');
  const t0 = Date.now();
  const cfgs = [
    { key: 'p2p', np: 2, what: 'p2p' },
    { key: 'coll2', np: 2, what: 'coll' },
    { key: 'coll4', np: 4, what: 'coll' },
  ];
  const modes = ['native', 'wasm-mpich', 'wasm-embedded'] as const;
  const runs = new Map<string, Figures[]>();
  const job = (mode: (typeof modes)[number], np: number, what: string): Figures => {
    const args = [what, String(iters)];
    const [cmd, argv] = mode === 'native' ? ['mpiexec', ['-n', String(np), native, ...args]]
      : [process.execPath, [ROAM, 'mpirun', '--mpi', mode === 'wasm-mpich' ? 'native' : 'embedded', '-np', String(np), wasm, ...args]];
    process.stderr.write(`patterns: ${mode} ${what} x${np}\n`);
    // A job that hangs costs JOB_TIMEOUT_MS, not the whole run: its figures are then n/a.
    const r = spawnSync(cmd as string, argv as string[], { encoding: 'utf8', env, timeout: JOB_TIMEOUT_MS });
    if (r.error) process.stderr.write(`patterns: ${mode} ${what} x${np}: ${r.error.message}\n`);
    if (r.status !== 0) process.stderr.write(`patterns: ${mode} ${what} x${np} failed (${r.status}): ${r.stderr.slice(-300)}\n`);
    return parse(r.stdout ?? '');
  };
  for (let r = 0; r < rounds; r++)
    for (const c of cfgs) for (const m of modes) {
      const k = `${c.key}/${m}`;
      runs.set(k, [...(runs.get(k) ?? []), job(m, c.np, c.what)]);
    }
  const med = (k: string, fig: string) => median((runs.get(k) ?? []).map((f) => f.get(fig) ?? NaN));
  const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
  const goals: string[] = [];
  const check = (label: string, ratios: Array<[string, number]>, ok: (r: number) => boolean, want: string) => {
    const bad = ratios.filter(([, r]) => !ok(r));
    const worst = ratios.reduce((a, b) => (ok(a[1]) && !ok(b[1]) ? b : a), ratios[0] ?? ['none', NaN]);
    goals.push(`- ${label} (${want}): ${bad.length ? `NOT met at ${bad.length} of ${ratios.length} (${bad.map(([n, r]) => `${n} ${f(r)}x`).join(', ')})` : `met (${ratios.length} figures; e.g. ${worst[0]} ${f(worst[1])}x)`}`);
  };

  const rows: string[] = ['| figure | native MPICH (baseline) | wasm --mpi native | ratio | wasm embedded | ratio |', '|---|---:|---:|---:|---:|---:|'];
  const figs = [...(runs.get('p2p/native')?.[0]?.keys() ?? [])];
  const lat: Array<[string, number]> = [], latE: Array<[string, number]> = [], bwS: Array<[string, number]> = [], bwL: Array<[string, number]> = [], bwE: Array<[string, number]> = [];
  for (const fig of figs) {
    const n = med('p2p/native', fig), w = med('p2p/wasm-mpich', fig), e = med('p2p/wasm-embedded', fig);
    const isLat = fig.startsWith('latency');
    // Latency ratio = wasm / native (lower is better); bandwidth ratio = wasm / native (higher is better).
    const rw = w / n, re = e / n;
    rows.push(`| ${fig} ${isLat ? 'µs' : 'MB/s'} | ${f(n)} | ${f(w)} | ${f(rw)}x | ${f(e)} | ${f(re)}x |`);
    const size = Number(fig.split(' ')[1]);
    if (isLat) { lat.push([fig, rw]); latE.push([fig, re]); }
    else {
      (size <= 1024 ? bwS : bwL).push([fig, rw]);
      if (size >= 65536) bwE.push([fig, re]);
    }
  }
  const collRows: string[] = ['| collective, ranks, bytes | native MPICH µs (baseline) | wasm --mpi native µs | ratio | wasm embedded µs | ratio |', '|---|---:|---:|---:|---:|---:|'];
  const coll: Array<[string, number]> = [], collE: Array<[string, number]> = [];
  for (const c of ['coll2', 'coll4']) {
    for (const fig of runs.get(`${c}/native`)?.[0]?.keys() ?? []) {
      const n = med(`${c}/native`, fig), w = med(`${c}/wasm-mpich`, fig), e = med(`${c}/wasm-embedded`, fig);
      const name = `${fig.replace('coll ', '')} x${c.slice(4)}`;
      collRows.push(`| ${name} | ${f(n)} | ${f(w)} | ${f(w / n)}x | ${f(e)} | ${f(e / n)}x |`);
      coll.push([name, w / n]);
      collE.push([name, e / n]);
    }
  }
  check('--mpi native latency, every size incl. the first', lat, (r) => r <= 1.5, '≤ 1.5x');
  check('--mpi native nonblocking bandwidth ≤ 1 KiB', bwS, (r) => r >= 0.5, '≥ 0.5x');
  check('--mpi native nonblocking bandwidth from 4 KiB', bwL, (r) => r >= 0.8, '≥ 0.8x');
  check('--mpi native collectives', coll, (r) => r <= 1.5, '≤ 1.5x');
  check('embedded bandwidth from 64 KiB', bwE, (r) => r >= 0.5, '≥ 0.5x');
  check('embedded latency', latE, (r) => r <= 3, '≤ 3x');
  check('embedded collectives', collE, (r) => r <= 3, '≤ 3x');
  const load1 = loadavg().map((x) => x.toFixed(1)).join(', ');
  const md = `## MPI-3 patterns (issue 15)
Command: \`BENCH_MPI=patterns PATTERNS_ROUNDS=${rounds} PATTERNS_ITERS=${iters} npm run bench:mpi\` (this part alone; plain \`npm run bench:mpi\` runs it after the ping-pong tables), ${rounds} interleaved rounds, medians;
${Math.round((Date.now() - t0) / 1000)} s wall; load averages (1, 5, 15 min) ${load0} before and ${load1} after. Source \`benchmarks/mpi/patterns.c\`: 100 untimed iterations before
every size (10 window iterations for bandwidth), the first size reported like the others; latency = one-way µs of a blocking ping-pong
with an \`MPI_Status\`; bw = 64 × \`MPI_Isend\`/\`MPI_Irecv\` then \`MPI_Waitall\` and a 4-byte ack (bibw: both ways); collectives on doubles
(allreduce/reduce: bytes/8 doubles, sum; bcast/alltoall: bytes, alltoall per peer), the slowest rank's mean.
Ratios: latency and collectives wasm/native (lower is better), bandwidth wasm/native (higher is better).

${rows.join('\n')}

${collRows.join('\n')}

Goals:
${goals.join('\n')}
`;
  return { md, summary: goals.join('\n') };
}
