// npm run bench:mpi — the same C source (functions/mpi/pingpong.c) compiled to Wasm with
// `roam cc` and natively with mpicc, run side by side on the same system MPI (MPICH), plus the
// Wasm on roam's embedded MPI. Prints baseline (native) and ratio; writes benchmarks/RESULTS-mpi.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileC } from '../../engine/mpi/cc.ts';
import { EXAMPLES_DIR } from '../../engine/mpi/build-examples.ts';

const ROAM = fileURLToPath(new URL('../../bin/roam.js', import.meta.url));
const MAX = 4 << 20;
const ITERS = Number(process.env.ITERS ?? 500);
const dir = mkdtempSync(join(tmpdir(), 'roam-bench-mpi-'));
const src = join(EXAMPLES_DIR, 'pingpong.c');
const wasm = join(dir, 'pingpong.wasm');
const native = join(dir, 'pingpong');
compileC([src], wasm);
execFileSync('mpicc', ['-O2', src, '-o', native]);

interface Result { pp: Map<number, { us: number; mbps: number }>; allreduce: number }
function parse(out: string): Result {
  const pp = new Map<number, { us: number; mbps: number }>();
  let allreduce = NaN;
  for (const l of out.split('\n')) {
    const m = /^pingpong (\d+) (\S+) (\S+)/.exec(l);
    if (m) pp.set(Number(m[1]), { us: Number(m[2]), mbps: Number(m[3]) });
    const a = /^allreduce \d+ (\S+)/.exec(l);
    if (a) allreduce = Number(a[1]);
  }
  return { pp, allreduce };
}
function job(label: string, cmd: string, args: string[]): Result {
  process.stderr.write(`running ${label}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, NODE_NO_WARNINGS: '1' } });
  if (r.status !== 0) throw new Error(`${label} failed (${r.status}): ${r.stderr}`);
  return parse(r.stdout);
}
const args = [String(MAX), String(ITERS)];
const nat = job('native binary on MPICH', 'mpiexec', ['-n', '2', native, ...args]);
const wn = job('wasm on MPICH (roam rank)', process.execPath, [ROAM, 'mpirun', '--mpi', 'native', '-np', '2', wasm, ...args]);
const we = job('wasm on embedded MPI', process.execPath, [ROAM, 'mpirun', '-np', '2', wasm, ...args]);
const nat4 = job('native allreduce x4', 'mpiexec', ['-n', '4', native, '0', String(ITERS)]);
const wn4 = job('wasm allreduce x4 on MPICH', process.execPath, [ROAM, 'mpirun', '--mpi', 'native', '-np', '4', wasm, '0', String(ITERS)]);
const we4 = job('wasm allreduce x4 embedded', process.execPath, [ROAM, 'mpirun', '-np', '4', wasm, '0', String(ITERS)]);

// Size: the .wasm vs the native binary plus the shared libraries it loads (a fully static
// MPICH link fails on Debian 12: libudev/libucm have no usable static archives).
const wasmSize = statSync(wasm).size;
const nativeSize = statSync(native).size;
const libs = execFileSync('ldd', [native], { encoding: 'utf8' }).split('\n').map((l) => /=> (\S+)/.exec(l)?.[1]).filter((p): p is string => !!p);
const libsSize = libs.reduce((n, p) => n + statSync(p).size, 0);

const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const rows: string[] = [];
rows.push('| bytes | native µs (baseline) | wasm on MPICH µs | ratio | wasm embedded µs | ratio | native MB/s | wasm MPICH MB/s | wasm embedded MB/s |');
rows.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const [b, n] of nat.pp) {
  const w = wn.pp.get(b)!, e = we.pp.get(b)!;
  rows.push(`| ${b} | ${f(n.us)} | ${f(w.us)} | ${f(w.us / n.us)}x | ${f(e.us)} | ${f(e.us / n.us)}x | ${f(n.mbps, 0)} | ${f(w.mbps, 0)} | ${f(e.mbps, 0)} |`);
}
const ar = [
  '| ranks | native µs (baseline) | wasm on MPICH µs | ratio | wasm embedded µs | ratio |',
  '|---:|---:|---:|---:|---:|---:|',
  `| 2 | ${f(nat.allreduce)} | ${f(wn.allreduce)} | ${f(wn.allreduce / nat.allreduce)}x | ${f(we.allreduce)} | ${f(we.allreduce / nat.allreduce)}x |`,
  `| 4 | ${f(nat4.allreduce)} | ${f(wn4.allreduce)} | ${f(wn4.allreduce / nat4.allreduce)}x | ${f(we4.allreduce)} | ${f(we4.allreduce / nat4.allreduce)}x |`,
];
const load = (await import('node:os')).loadavg()[0];
const md = `# MPI benchmark results

Command: \`npm run bench:mpi\` (ITERS=${ITERS}; ping-pong one-way latency = round trip / 2; ${cpus().length} cores, load average ${load.toFixed(1)} at the end of the run).
Same source \`functions/mpi/pingpong.c\`: native = \`mpicc -O2\` on MPICH ${mpichVersion()}; wasm on MPICH = \`roam mpirun --mpi native\`
(each rank a Node process, calls forwarded by the native-host addon); embedded = \`roam mpirun\` (worker threads, SharedArrayBuffer).

## Ping-pong (ranks 0 and 1)
${rows.join('\n')}

## MPI_Allreduce of one double
${ar.join('\n')}

## Size
| artifact | bytes |
|---|---:|
| pingpong.wasm (roam cc, -O2, stripped) | ${wasmSize} |
| native pingpong (dynamic, mpicc -O2) | ${nativeSize} |
| native pingpong + shared libraries it loads (${libs.length}) | ${nativeSize + libsSize} |
| ratio (native + libraries) / wasm | ${f((nativeSize + libsSize) / wasmSize, 0)}x |
`;
process.stdout.write(md);
writeFileSync(fileURLToPath(new URL('../RESULTS-mpi.md', import.meta.url)), md);

function mpichVersion(): string {
  const r = spawnSync('mpichversion', [], { encoding: 'utf8' });
  return /Version:\s*(\S+)/.exec(r.stdout ?? '')?.[1] ?? '(unknown)';
}
