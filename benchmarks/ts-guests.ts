// `npm run bench:ts`: TypeScript guests on the shared QuickJS engine against AssemblyScript, in one run:
// build time, bundle size, cold start (deploy → first reply) with and without the engine compiled, trivial
// calls/s in-process, kv get through the host pool, memory per idle instance. Writes nothing; prints
// markdown for benchmarks/RESULTS-ts.md.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildProject } from '../engine/build/assemblyscript.ts';
import { buildTsProject } from '../engine/build/build-ts.ts';
import { Engine } from '../engine/runtime/engine.ts';
import { setLogSink } from '../engine/capabilities/log.ts';
import { encodeRequest } from '../engine/runtime/http-abi.ts';
import { readBundle, embedManifest } from '../engine/bundle/bundle.ts';
import { listenWire } from '../engine/server/wire-server.ts';
import { connect, type Client } from '../engine/client/index.ts';
import { JsInstance } from '../engine/jsguest/js-instance.ts';
import { jsCodeOf } from '../engine/bundle/js-section.ts';
import { CAPABILITIES, IMPLICIT } from '../engine/capabilities/index.ts';
import { RegionStore } from '../engine/regions/region-store.ts';
import { engineFor } from '../engine/jsguest/quickjs-engine.ts';
import { fmt, measureInterleaved, median } from './harness.ts';
import { buildFixture } from '../test/http-fixtures.ts';

const ROOT = join(import.meta.dirname, '..');
const out: string[] = [];
const line = (s = '') => {
  out.push(s);
  process.stdout.write(s + '\n');
};
const ms = (x: number) => `${x.toFixed(1)} ms`;
const tmp = mkdtempSync(join(tmpdir(), 'roam-bench-ts-'));
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
const renamed = (bytes: Uint8Array, version: string) => {
  const b = readBundle(bytes);
  return embedManifest(b.module.bytes, { ...b.manifest, version });
};
setLogSink(() => {});

// Cold start in a fresh process (`--cold`): prints JSON and exits; the parent runs it several times.
if (process.argv.includes('--cold')) {
  const file = process.argv[process.argv.indexOf('--cold') + 1]!;
  const bytes = new Uint8Array(execFileSync('cat', [file]));
  const call = process.argv.includes('--fn') ? 'greet' : 'hello';
  const input = call === 'greet' ? encodeRequest({ method: 'GET', path: '/x', headers: [], body: new Uint8Array() }) : Buffer.from('x');
  const e = new Engine();
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let c = cpu();
  let t = performance.now();
  e.deploy(bytes).call(call, input);
  const first = performance.now() - t;
  const firstCpu = cpu() - c;
  // Engine compiled and this tenant's engine instance made: a second bundle (another hash) as a redeploy would.
  const second: number[] = [];
  const secondCpu: number[] = [];
  for (let i = 0; i < 5; i++) {
    const b = renamed(bytes, `9.9.${i}`);
    c = cpu();
    t = performance.now();
    e.deploy(b).call(call, input);
    second.push(performance.now() - t);
    secondCpu.push(cpu() - c);
  }
  process.stdout.write(JSON.stringify({ first, firstCpu, cached: median(second), cachedMin: Math.min(...second), cachedCpu: median(secondCpu) }) + '\n');
  process.exit(0);
}

line(`## TypeScript guests (QuickJS) against AssemblyScript`);
line();
line(`Machine load at start: ${loadavg().map((l) => l.toFixed(2)).join(', ')} (2 cores shared).`);
line();

// 1. Build time and size.
const tsBuilds: number[] = [];
let ts = await buildTsProject(join(ROOT, 'functions/hello-qjs'), { outFile: join(tmp, 'hello-qjs.wasm') });
for (let i = 0; i < 5; i++) {
  ts = await buildTsProject(join(ROOT, 'functions/hello-qjs'), { outFile: join(tmp, 'hello-qjs.wasm') });
  tsBuilds.push(ts.ms);
}
const noCheck: number[] = [];
for (let i = 0; i < 5; i++) noCheck.push((await buildTsProject(join(ROOT, 'functions/hello-qjs'), { outFile: join(tmp, 'nc.wasm'), check: false })).ms);
const cli = (extra: string[]) => {
  const t = performance.now();
  execFileSync(process.execPath, [join(ROOT, 'bin/roam.js'), 'build', join(ROOT, 'functions/hello-qjs'), '-o', join(tmp, 'cli.wasm'), ...extra]);
  return performance.now() - t;
};
const cliMs = median([cli([]), cli([]), cli([])]);
const cliNoCheckMs = median([cli(['--no-check']), cli(['--no-check']), cli(['--no-check'])]);
let t0 = performance.now();
const as = await buildProject(join(ROOT, 'functions/hello'), { outFile: join(tmp, 'hello.wasm') });
const asBuildMs = performance.now() - t0;
const kvTs = await buildTsProject(join(ROOT, 'functions/kv-ts'), { outFile: join(tmp, 'kv-ts.wasm') });
t0 = performance.now();
const kvAs = await buildProject(join(ROOT, 'functions/kv'), { outFile: join(tmp, 'kv.wasm') });
const kvAsMs = performance.now() - t0;

line('| build | TypeScript (QuickJS) | AssemblyScript (-O3) | ratio | goal |');
line('|---|---|---|---|---|');
line(`| hello: build in-process (median of 5) | ${ms(median(tsBuilds))} | ${ms(asBuildMs)} | ${ratio(median(tsBuilds), asBuildMs)} | ≤ 2 s |`);
line(`| hello: build in-process without the type check (median of 5) | ${ms(median(noCheck))} | | | ≤ 2 s |`);
line(`| hello: \`roam build\` (a new process: node, tsx, the CLI; median of 3) | ${ms(cliMs)} | | | ≤ 2 s |`);
line(`| hello: \`roam build --no-check\` (a new process; median of 3) | ${ms(cliNoCheckMs)} | | | ≤ 2 s |`);
line(`| kv: build in-process | ${ms(kvTs.ms)} | ${ms(kvAsMs)} | ${ratio(kvTs.ms, kvAsMs)} | ≤ 2 s |`);
line(`| hello: bundle size | ${ts.bytes.length} B | ${as.bytes.length} B | ${ratio(ts.bytes.length, as.bytes.length)} | ≤ 64 KB |`);
line(`| kv: bundle size | ${kvTs.bytes.length} B | ${kvAs.bytes.length} B | ${ratio(kvTs.bytes.length, kvAs.bytes.length)} | ≤ 64 KB |`);
line();

// 2. Cold start: deploy → first reply, in fresh processes (engine not compiled) and after (compiled).
const cold = (file: string, fnCall: boolean) => {
  type Cold = { first: number; firstCpu: number; cached: number; cachedMin: number; cachedCpu: number };
  const rs = Array.from({ length: 5 }, () => JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'benchmarks/ts-guests.ts'), '--cold', file, ...(fnCall ? ['--fn'] : [])], { encoding: 'utf8' })) as Cold);
  const m = (k: keyof Cold) => median(rs.map((r) => r[k]));
  return { first: m('first'), firstCpu: m('firstCpu'), cached: m('cached'), cachedMin: Math.min(...rs.map((r) => r.cachedMin)), cachedCpu: m('cachedCpu') };
};
const cTs = cold(join(tmp, 'hello-qjs.wasm'), false);
const cAs = cold(join(tmp, 'hello.wasm'), false);
// A new tenant in a warm thread: the compiled engine is cached, but its engine instance is new.
const tenants: number[] = [];
const warmEngine = new Engine();
warmEngine.deploy(ts.bytes).call('hello', Buffer.from('x'));
for (let i = 0; i < 5; i++) {
  const b = readBundle(ts.bytes);
  const bytes = embedManifest(b.module.bytes, { ...b.manifest, tenant: `t${i}` });
  t0 = performance.now();
  warmEngine.deploy(bytes).call('hello', Buffer.from('x'));
  tenants.push(performance.now() - t0);
}
// A warm thread (the engine compiled and exercised, as in a server that has deployed before): new versions.
const warmTs: number[] = [];
const warmAs: number[] = [];
for (let i = 0; i < 9; i++) {
  const bt = renamed(ts.bytes, `8.8.${i}`);
  const ba = renamed(as.bytes, `8.8.${i}`);
  t0 = performance.now();
  warmEngine.deploy(bt).call('hello', Buffer.from('x'));
  warmTs.push(performance.now() - t0);
  t0 = performance.now();
  warmEngine.deploy(ba).call('hello', Buffer.from('x'));
  warmAs.push(performance.now() - t0);
}
line('| cold start: deploy → first reply, wall (median; min) and CPU of the whole process (median) | TypeScript | AssemblyScript | ratio (wall medians) | goal |');
line('|---|---|---|---|---|');
line(`| first bundle in a fresh process (engine not compiled; AS: module compiled), 5 processes | ${ms(cTs.first)}; CPU ${ms(cTs.firstCpu)} | ${ms(cAs.first)}; CPU ${ms(cAs.firstCpu)} | ${ratio(cTs.first, cAs.first)} | ≤ 50 ms |`);
line(`| another bundle right after, engine cached (same tenant), 5 × 5 | ${ms(cTs.cached)}; min ${ms(cTs.cachedMin)}; CPU ${ms(cTs.cachedCpu)} | ${ms(cAs.cached)}; min ${ms(cAs.cachedMin)}; CPU ${ms(cAs.cachedCpu)} | ${ratio(cTs.cached, cAs.cached)} | ≤ 10 ms |`);
line(`| another tenant, engine compiled (its own engine instance), 5 | ${ms(median(tenants))}; min ${ms(Math.min(...tenants))} | | | ≤ 10 ms |`);
line(`| a new version in a warm thread (engine compiled and exercised), 9 | ${ms(median(warmTs))}; min ${ms(Math.min(...warmTs))} | ${ms(median(warmAs))}; min ${ms(Math.min(...warmAs))} | ${ratio(median(warmTs), median(warmAs))} | ≤ 10 ms |`);
line();

// 3. Calls/s in-process, interleaved.
const e = new Engine();
const dTs = e.deploy(ts.bytes);
const dAs = e.deploy(as.bytes);
const hTs = dTs.entry('hello');
const hAs = dAs.entry('hello');
const gTs = dTs.entry('greet');
const gAs = dAs.entry('greet');
// The most trivial function pair: hello-qjs `shout` (body → upper-cased text + "!") and the AS test
// fixture fnkit `upper` (body → upper-cased text).
const dKit = e.deploy(await buildFixture('test/fixtures/fnkit'));
const sTs = dTs.entry('shout');
const uAs = dKit.entry('upper');
const rb = encodeRequest({ method: 'POST', path: '/', headers: [], body: Buffer.from('bob') });
const x = Buffer.from('x');
const r = encodeRequest({ method: 'GET', path: '/bob', headers: [], body: new Uint8Array() });
const N = 20_000;
const rates = measureInterleaved([
  { name: 'ts handler hello', ops: N, body: () => { for (let i = 0; i < N; i++) dTs.callEntry(hTs, x, undefined, true); } },
  { name: 'as handler hello', ops: N, body: () => { for (let i = 0; i < N; i++) dAs.callEntry(hAs, x, undefined, true); } },
  { name: 'ts function greet', ops: N, body: () => { for (let i = 0; i < N; i++) dTs.callEntry(gTs, r, undefined, true); } },
  { name: 'as function greet', ops: N, body: () => { for (let i = 0; i < N; i++) dAs.callEntry(gAs, r, undefined, true); } },
], 7, 1);
const rate = (n: string) => rates.find((q) => q.name === n)!.opsPerSec;
// Calls per second of this process's CPU time (user + system): what a core would do with the machine to
// itself; under heavy load wall-clock rates mostly measure waiting for a core.
const cpuRate = (body: () => void, ops: number) => {
  const rs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const u0 = process.cpuUsage();
    body();
    const u = process.cpuUsage(u0);
    rs.push((ops * 1e6) / (u.user + u.system));
  }
  return median(rs);
};
const cpuTsH = cpuRate(() => { for (let i = 0; i < N; i++) dTs.callEntry(hTs, x, undefined, true); }, N);
const cpuAsH = cpuRate(() => { for (let i = 0; i < N; i++) dAs.callEntry(hAs, x, undefined, true); }, N);
const cpuTsG = cpuRate(() => { for (let i = 0; i < N; i++) dTs.callEntry(gTs, r, undefined, true); }, N);
const cpuAsG = cpuRate(() => { for (let i = 0; i < N; i++) dAs.callEntry(gAs, r, undefined, true); }, N);
const cpuTsS = cpuRate(() => { for (let i = 0; i < N; i++) dTs.callEntry(sTs, rb, undefined, true); }, N);
const cpuAsU = cpuRate(() => { for (let i = 0; i < N; i++) dKit.callEntry(uAs, rb, undefined, true); }, N);
line('| calls/s in-process (median of 7 interleaved rounds) | TypeScript | AssemblyScript | ratio | goal |');
line('|---|---|---|---|---|');
line(`| trivial handler (hello, bytes → string) | ${fmt(rate('ts handler hello'))} | ${fmt(rate('as handler hello'))} | ${ratio(rate('ts handler hello'), rate('as handler hello'))} | ≥ 100k |`);
line(`| trivial function (greet: request → response, with a log line) | ${fmt(rate('ts function greet'))} | ${fmt(rate('as function greet'))} | ${ratio(rate('ts function greet'), rate('as function greet'))} | ≥ 100k |`);
line(`| trivial handler, per CPU-second (median of 5) | ${fmt(cpuTsH)} | ${fmt(cpuAsH)} | ${ratio(cpuTsH, cpuAsH)} | ≥ 100k |`);
line(`| trivial function (greet), per CPU-second (median of 5) | ${fmt(cpuTsG)} | ${fmt(cpuAsG)} | ${ratio(cpuTsG, cpuAsG)} | ≥ 100k |`);
line(`| trivial function without a log line (TS shout / AS fnkit upper), per CPU-second | ${fmt(cpuTsS)} | ${fmt(cpuAsU)} | ${ratio(cpuTsS, cpuAsU)} | ≥ 100k |`);
line();

// 4. kv get through the host pool (one worker), pipelined over the wire.
const server = await listenWire({ host: { workers: 1 } });
const idAs = server.deploy(kvAs.bytes).id;
const idTs = server.deploy(kvTs.bytes).id;
const client: Client = await connect(server.port);
const KEYS = 1000;
const keys = Array.from({ length: KEYS }, (_, i) => {
  const k = Buffer.alloc(8);
  k.writeBigUInt64LE(BigInt(i + 1));
  return k;
});
for (const id of [idAs, idTs]) for (const k of keys) await client.sendRaw(id, 2, Buffer.concat([k, Buffer.from('value-of-16-byte')]), 'host');
const getRate = async (id: number) => {
  const total = 20_000;
  const t = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < total) {
      const k = keys[next++ % KEYS]!;
      await client.sendRaw(id, 1, k, 'host');
    }
  };
  await Promise.all(Array.from({ length: 64 }, lane));
  return (total * 1000) / (performance.now() - t);
};
await getRate(idAs);
await getRate(idTs);
const gA: number[] = [];
const gT: number[] = [];
for (let i = 0; i < 5; i++) {
  gA.push(await getRate(idAs));
  gT.push(await getRate(idTs));
}
client.close();
await server.close();
line('| kv get through the host pool (1 worker, 64 in flight, median of 5) | TypeScript | AssemblyScript | ratio | goal |');
line('|---|---|---|---|---|');
line(`| gets/s | ${fmt(median(gT))} | ${fmt(median(gA))} | ${ratio(median(gT), median(gA))} | ≥ 0.1x |`);
line();

// 5. Memory per idle instance.
const regions = new RegionStore();
const memOf = (bytes: Uint8Array, n: number) => {
  const b = readBundle(bytes);
  const m = { ...b.manifest, tenant: `mem-${b.manifest.name}` };
  const caps = [...IMPLICIT, ...m.capabilities].map((c) => CAPABILITIES.get(c)!);
  const eng = engineFor(m.tenant);
  const before = eng.memory.buffer.byteLength;
  const keep: JsInstance[] = [];
  for (let i = 0; i < n; i++) keep.push(new JsInstance(jsCodeOf(bytes)!, m, caps, regions.bind(m)));
  const grown = (eng.memory.buffer.byteLength - before) / n;
  return { heap: keep[0]!.heapBytes(), grown, keep };
};
const mHello = memOf(ts.bytes, 200);
const mKv = memOf(kvTs.bytes, 200);
const asMem = e.deploy(as.bytes).memoryBytes();
const asKvMem = e.deploy(kvAs.bytes).memoryBytes();
line('| memory per idle instance | TypeScript: JS heap (QuickJS accounting) | TypeScript: engine memory grown per instance (200 made) | AssemblyScript: linear memory |');
line('|---|---|---|---|');
line(`| hello | ${(mHello.heap / 1024).toFixed(0)} KiB | ${(mHello.grown / 1024).toFixed(0)} KiB | ${(asMem / 1024).toFixed(0)} KiB |`);
line(`| kv | ${(mKv.heap / 1024).toFixed(0)} KiB | ${(mKv.grown / 1024).toFixed(0)} KiB | ${(asKvMem / 1024).toFixed(0)} KiB |`);
line();
line(`Machine load at end: ${loadavg().map((l) => l.toFixed(2)).join(', ')}.`);
void mHello.keep;
void mKv.keep;
process.exit(0);
