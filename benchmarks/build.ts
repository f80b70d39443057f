/**
 * The author's loop, timed side by side (issue 20): `roam build functions/hello` against a plain `asc`
 * compile of the same sources with the same flags (one process each, interleaved rounds, medians;
 * `--force`: roam compiles every time, as asc does), the same build with nothing changed (the compile cache),
 * a syntax and a type error through `roam build`, and `roam --help` start-up against `node -e 0`.
 *
 *   npm run bench:build [-- --rounds 5]
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROAM = join(ROOT, 'bin/roam.js');
const ASC = join(ROOT, 'node_modules/assemblyscript/bin/asc.js');
const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1] ?? 0) || 5;

/** One process, wall time in ms; `expectFail` runs must fail (an error case), the others succeed. */
function timed(args: string[], cwd: string, expectFail = false): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const ms = performance.now() - t0;
  if ((r.status !== 0) !== expectFail) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const work = mkdtempSync(join(tmpdir(), 'roam-bench-build-'));
// The plain-asc baseline: hello's sources, the SDK as node_modules/roam (how asc resolves packages),
// the same virtual ABI entry as a file, the same flags roam passes.
const plain = join(work, 'plain');
cpSync(join(ROOT, 'functions/hello'), plain, { recursive: true });
mkdirSync(join(plain, 'node_modules'));
symlinkSync(join(ROOT, 'guest-sdk/assembly'), join(plain, 'node_modules/roam'));
writeFileSync(join(plain, '__roam_abi__.ts'), 'export { roam_in, roam_out } from "roam/abi";\n');
const ascArgs = [ASC, 'assembly/index.ts', '__roam_abi__.ts', '--outFile', join(work, 'plain.wasm'), '--runtime', 'incremental', '--use', 'abort=~lib/roam/core/roam_abort', '-O3'];
// Error cases: a copy of hello with a syntax error and one with a type error.
const broken = (name: string, edit: (s: string) => string) => {
  const dir = join(work, name);
  cpSync(join(ROOT, 'functions/hello'), dir, { recursive: true });
  const f = join(dir, 'assembly/index.ts');
  writeFileSync(f, edit(readFileSync(f, 'utf8')));
  return dir;
};
const syntax = broken('syntax', (s) => s.replace('import {', 'import {{'));
const type = broken('type', (s) => s.replace('replyString(', 'replyStrin('));

const cases: Array<{ name: string; run: () => number }> = [
  { name: 'roam build functions/hello', run: () => timed([ROAM, 'build', 'functions/hello', '--force', '-o', join(work, 'roam.wasm')], ROOT) },
  { name: 'plain asc (same sources, flags)', run: () => timed(ascArgs, plain) },
  { name: 'roam build, sources unchanged', run: () => timed([ROAM, 'build', 'functions/hello', '-o', join(work, 'roam2.wasm')], ROOT) },
  { name: 'roam build: syntax error', run: () => timed([ROAM, 'build', syntax], ROOT, true) },
  { name: 'roam build: type error', run: () => timed([ROAM, 'build', type], ROOT, true) },
  { name: 'roam --help', run: () => timed([ROAM, '--help'], ROOT) },
  { name: 'node -e 0', run: () => timed(['-e', '0'], ROOT) },
];

const load0 = loadavg()[0]!;
cases.forEach((c) => c.run()); // warm-up: OS file cache, tsx's transform cache
const samples = cases.map(() => [] as number[]);
for (let i = 0; i < rounds; i++) cases.forEach((c, j) => samples[j]!.push(c.run()));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const med = samples.map(median);
rmSync(work, { recursive: true, force: true });

console.log(`build benchmark: ${rounds} interleaved rounds, medians (load ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}, ${new Date().toISOString()})`);
cases.forEach((c, j) => console.log(`  ${c.name.padEnd(34)} ${(med[j]! / 1000).toFixed(2).padStart(6)} s   (min ${(Math.min(...samples[j]!) / 1000).toFixed(2)}, max ${(Math.max(...samples[j]!) / 1000).toFixed(2)})`));
console.log(`  ratio roam build / plain asc        ${(med[0]! / med[1]!).toFixed(2)}x   (goal ≤ 1.5x; roam build ≤ 5 s)`);
console.log(`  roam --help                         ${(med[5]! / 1000).toFixed(3)} s   (goal ≤ 0.3 s; bare node ${(med[6]! / 1000).toFixed(3)} s)`);
