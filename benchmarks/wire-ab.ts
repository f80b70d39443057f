/**
 * npm run bench:wire-ab -- --baseline DIR [--rounds 7 --requests 400000 --connections 4 --pipeline 16]
 *
 * The wire path of this checkout against another checkout's (DIR: e.g. main before a change), in one run:
 * each tree serves kv from its own process (listenWire, 2 host workers, roam_netio where built), and the
 * C load generator (wire-load) drives kv gets at the place `auto` (mostly the inline lane) and pinned to
 * `host` (the worker pool), rounds interleaved before/after. Prints the median ops/s and server CPU per
 * request of each, and the ratio after / before. Used to check that a refactor of the wire front door or
 * the places' router costs nothing (benchmarks/RESULTS.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { fmt, median, procCpuMs } from './harness.ts';
import { runWireLoad, wireLoadBinary } from './wire-load/index.ts';

const HERE = fileURLToPath(import.meta.url);
const ROOT = resolve(HERE, '../..');

if (process.argv[2] === '--serve') {
  // Child: argv[3] the tree, argv[4] the bundle file. The wire server's module moved in issue 13
  // (engine/places/server.ts → engine/server/wire-server.ts): take whichever the tree has.
  const tree = process.argv[3]!;
  const mod = ['engine/server/wire-server.ts', 'engine/places/server.ts'].map((p) => join(tree, p)).find((p) => existsSync(p))!;
  const { listenWire } = (await import(pathToFileURL(mod).href)) as typeof import('../engine/server/wire-server.ts');
  const s = await listenWire({ host: { workers: 2 } });
  const b = s.deploy(readFileSync(process.argv[4]!));
  console.log(JSON.stringify({ port: s.port, id: b.id }));
  process.on('SIGTERM', () => void s.close().then(() => process.exit(0)));
} else await main();

async function main(): Promise<void> {
  const { values: a } = parseArgs({ options: { baseline: { type: 'string' }, rounds: { type: 'string', default: '7' }, requests: { type: 'string', default: '400000' }, connections: { type: 'string', default: '4' }, pipeline: { type: 'string', default: '16' }, keys: { type: 'string', default: '10000' } } });
  if (!a.baseline) throw new Error('--baseline DIR: the checkout to compare against (e.g. a worktree of main)');
  const bin = wireLoadBinary();
  if (!bin) throw new Error('no C compiler (cc) for benchmarks/wire-load');
  const { cachedBuild } = await import('../engine/build/cached-build.ts');
  const { connect } = await import('../engine/client/index.ts');
  const { loadKeys } = await import('../engine/demo/ycsb.ts');
  const dir = mkdtempSync(join(tmpdir(), 'roam-wire-ab-'));
  const kv = join(dir, 'kv.wasm');
  writeFileSync(kv, await cachedBuild('functions/kv'));
  const keys = Number(a.keys);
  const load0 = loadavg()[0]!;
  const trees = [{ label: 'before', root: resolve(a.baseline) }, { label: 'after', root: ROOT }];
  const servers: Array<{ child: ChildProcess; port: number; id: number }> = [];
  try {
    for (const t of trees) {
      const s = await startChild(t.root, kv);
      servers.push(s);
      const c = await connect(s.port);
      await loadKeys(c, s.id, keys);
      c.close();
    }
    const cases = [{ name: 'kv get, place auto (inline lane)', place: 0 }, { name: 'kv get, pinned host (worker pool)', place: 3 }];
    const rows = cases.map(() => trees.map(() => ({ ops: [] as number[], cpu: [] as number[] })));
    const requests = Number(a.requests);
    for (let r = 0; r < Number(a.rounds); r++) {
      for (let k = 0; k < cases.length; k++) {
        // Alternate which tree goes first, so neither always follows the other's warm caches.
        const order = r % 2 === 0 ? [0, 1] : [1, 0];
        for (const i of order) {
          const s = servers[i]!;
          const cpu0 = procCpuMs(s.child.pid!);
          const res = await runWireLoad(bin, { port: s.port, bundle: s.id, type: 1, connections: Number(a.connections), pipeline: Number(a.pipeline), requests, keys, valueBytes: 0, place: cases[k]!.place });
          rows[k]![i]!.ops.push(res.ops);
          rows[k]![i]!.cpu.push(((procCpuMs(s.child.pid!) - cpu0) * 1000) / requests);
        }
      }
    }
    const load1 = loadavg()[0]!;
    console.log(`\nwire path A/B: ${trees[0]!.root} (before) vs ${trees[1]!.root} (after); ${a.rounds} interleaved rounds of ${requests} kv gets, ${a.connections} connections × pipeline ${a.pipeline}; load ${load0.toFixed(1)} → ${load1.toFixed(1)}\n`);
    console.log('| case | before ops/s | after ops/s | after / before | before server µs/req | after server µs/req |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (let k = 0; k < cases.length; k++) {
      const [b, f] = rows[k]!;
      const ratio = median(f!.ops) / median(b!.ops);
      console.log(`| ${cases[k]!.name} | ${fmt(median(b!.ops))} | ${fmt(median(f!.ops))} | ${ratio.toFixed(3)}x | ${median(b!.cpu).toFixed(2)} | ${median(f!.cpu).toFixed(2)} |`);
    }
    console.log(`\nper round (ops/s, before | after): ${rows.map((row, k) => `${cases[k]!.place === 0 ? 'auto' : 'host'}: ${row[0]!.ops.map((x) => fmt(x)).join(' ')} | ${row[1]!.ops.map((x) => fmt(x)).join(' ')}`).join('; ')}`);
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A server child of one tree; resolves with its port and kv's wire id once it listens. */
function startChild(tree: string, bundle: string): Promise<{ child: ChildProcess; port: number; id: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', HERE, '--serve', tree, bundle], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((res, rej) => {
    child.once('error', rej);
    child.once('exit', (code) => rej(new Error(`server for ${tree} exited (${code}) before listening`)));
    createInterface({ input: child.stdout! }).once('line', (l) => {
      const { port, id } = JSON.parse(l) as { port: number; id: number };
      res({ child, port, id });
    });
  });
}
