// `npm run bench:components`: the same hello function as (a) an AssemblyScript core bundle, (b) plain
// TypeScript componentized with componentize-js (roam's world), (c) a wasi:http/incoming-handler component
// (JavaScript, componentize-js), (d) a component from hand-written WAT (wasm-tools, fuel-metered).
// Cold start (deploy → first reply) and warm calls/s, in-process and through the real gateway over HTTP;
// componentize time and sizes. The AS bundle is the baseline every ratio is taken against.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { buildProject } from '../engine/build/assemblyscript.ts';
import { buildComponentProject } from '../engine/build/componentize.ts';
import { ComponentFunction } from '../engine/components/index.ts';
import { createGateway } from '../engine/http/gateway.ts';
import { silentLogger } from '../engine/http/log.ts';
import { Engine } from '../engine/runtime/engine.ts';
import { setLogSink } from '../engine/capabilities/log.ts';
import { encodeRequest, type FnRequest } from '../engine/runtime/http-abi.ts';
import { fmt, median } from './harness.ts';

const ROOT = join(import.meta.dirname, '..');
const ms = (x: number) => `${x.toFixed(1)} ms`;
const freshCache = () => (process.env.ROAM_CACHE_DIR = mkdtempSync(join(tmpdir(), 'roam-bench-cache-')));
const req = (who: string): FnRequest => ({ method: 'GET', path: `/${who}`, headers: [], body: new Uint8Array() });

/** Runs `total` async calls keeping `inflight` outstanding; median ops/s over `rounds`. */
async function rate(call: () => Promise<unknown>, total: number, inflight: number, rounds = 5): Promise<number> {
  const one = async () => {
    let started = 0;
    const t0 = performance.now();
    const lane = async () => {
      while (started < total) {
        started++;
        await call();
      }
    };
    await Promise.all(Array.from({ length: inflight }, lane));
    return (total * 1000) / (performance.now() - t0);
  };
  await one(); // warm-up
  const rs: number[] = [];
  for (let i = 0; i < rounds; i++) rs.push(await one());
  return median(rs);
}

export async function run(): Promise<string> {
  const out: string[] = ['## Components: the same hello function four ways', ''];
  const savedCache = process.env.ROAM_CACHE_DIR;
  // Every hello logs one line per call; drop them in-process (components log through the same sink).
  setLogSink(() => {});

  // Builds. componentize from an empty cache once, to time it.
  const as = await buildProject(join(ROOT, 'functions/hello'), { outFile: join(tmpdir(), 'bench-hello.wasm') });
  freshCache();
  const t0 = performance.now();
  const ts = await buildComponentProject(join(ROOT, 'functions/hello-ts'), { outFile: join(tmpdir(), 'bench-hello-ts.wasm') });
  const componentizeMs = performance.now() - t0;
  const t1 = performance.now();
  const http = await buildComponentProject(join(ROOT, 'functions/hello-http'), { outFile: join(tmpdir(), 'bench-hello-http.wasm') });
  const componentizeHttpMs = performance.now() - t1;
  const wat = await buildComponentProject(join(ROOT, 'functions/hello-wat'), { outFile: join(tmpdir(), 'bench-hello-wat.wasm') });

  // Cold start in-process: deploy → first reply. Components: with an empty transpile cache, then a warm one.
  const coldAs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const d = new Engine().deploy(as.bytes);
    d.call('greet', encodeRequest(req('ada')));
    coldAs.push(performance.now() - t);
  }
  const cold = async (bytes: Uint8Array, emptyCache: boolean) => {
    const xs: number[] = [];
    for (let i = 0; i < 3; i++) {
      if (emptyCache) freshCache();
      const t = performance.now();
      const fn = await ComponentFunction.deploy(bytes, { timeLimitMs: 10_000 });
      await fn.call(req('ada'));
      xs.push(performance.now() - t);
      await fn.close();
    }
    return median(xs);
  };
  const coldTsEmpty = await cold(ts.bytes, true);
  const coldTsWarm = await cold(ts.bytes, false);
  const coldHttpEmpty = await cold(http.bytes, true);
  const coldHttpWarm = await cold(http.bytes, false);
  const coldWatEmpty = await cold(wat.bytes, true);
  const coldWatWarm = await cold(wat.bytes, false);
  if (savedCache === undefined) delete process.env.ROAM_CACHE_DIR;
  else process.env.ROAM_CACHE_DIR = savedCache;

  // Warm calls/s in-process. AS: synchronous call in this thread; components: a worker round trip each, 32 in flight.
  const dep = new Engine().deploy(as.bytes);
  const greet = dep.entry('greet');
  const asReq = encodeRequest(req('ada'));
  const asRate = await rate(async () => dep.callEntry(greet, asReq), 200_000, 1);
  const tsFn = await ComponentFunction.deploy(ts.bytes, { timeLimitMs: 10_000 });
  const watFn = await ComponentFunction.deploy(wat.bytes, { timeLimitMs: 10_000 });
  const httpFn = await ComponentFunction.deploy(http.bytes, { timeLimitMs: 10_000 });
  const tsRate = await rate(() => tsFn.call(req('ada')), 3_000, 32);
  const tsSeq = await rate(() => tsFn.call(req('ada')), 1_000, 1);
  const httpRate = await rate(() => httpFn.call(req('ada')), 500, 32);
  const httpSeq = await rate(() => httpFn.call(req('ada')), 200, 1);
  const watRate = await rate(() => watFn.call(req('ada')), 50_000, 32);
  const watSeq = await rate(() => watFn.call(req('ada')), 10_000, 1);
  const slow = `hello-ts worker stats after the in-process runs: ${JSON.stringify(tsFn.stats)}`;
  const tl = (f: ComponentFunction) => (f.timeLimit.mode === 'watchdog' ? 'watchdog (engine/meter could not instrument the engine module)' : f.timeLimit.metered.length === 0 ? 'bounded without fuel: no core module loops (+ watchdog)' : `fuel in ${f.timeLimit.metered.join(', ')} (+ watchdog)`);
  const [tsTl, httpTl, watTl] = [tl(tsFn), tl(httpFn), tl(watFn)];
  await tsFn.close();
  await watFn.close();
  await httpFn.close();

  // Through the gateway over HTTP (undici Pool, 8 connections): PUT → first GET, then warm RPS.
  const gw = await createGateway({ token: null, threads: 1, logger: silentLogger });
  const url = await gw.listen(0);
  const pool = new Pool(url, { connections: 8, pipelining: 1 });
  const get = async (path: string) => {
    const r = await pool.request({ method: 'GET', path });
    await r.body.text();
    if (r.statusCode !== 200) throw new Error(`${path}: ${r.statusCode}`);
  };
  const httpCold = async (name: string, bytes: Uint8Array, path: string) => {
    const t = performance.now();
    const r = await pool.request({ method: 'PUT', path: `/v1/bundles/${name}`, body: bytes });
    await r.body.text();
    if (r.statusCode !== 201) throw new Error(`deploy ${name}: ${r.statusCode}`);
    await get(path);
    return performance.now() - t;
  };
  const hCold = [await httpCold('hello', as.bytes, '/fn/greet/ada'), await httpCold('hello-ts', ts.bytes, '/fn/hello-ts/ada'), await httpCold('hello-http', http.bytes, '/fn/hello-http/ada'), await httpCold('hello-wat', wat.bytes, '/fn/hello-wat/ada')];
  const hRate = [await rate(() => get('/fn/greet/ada'), 5_000, 16), await rate(() => get('/fn/hello-ts/ada'), 2_000, 16), await rate(() => get('/fn/hello-http/ada'), 500, 16), await rate(() => get('/fn/hello-wat/ada'), 5_000, 16)];
  await pool.close();
  await gw.close();

  const x = (v: number, base: number, digits = 3) => `${(v / base).toFixed(digits)}x`;
  out.push(
    '| | (a) AssemblyScript core bundle (baseline) | (b) TypeScript → componentize-js, roam world | (c) wasi:http/incoming-handler, JS → componentize-js | (d) hand-written WAT → wasm-tools component |',
    '|---|---|---|---|---|',
    `| bundle size | ${fmt(as.bytes.length)}B | ${(ts.bytes.length / 1e6).toFixed(1)} MB | ${(http.bytes.length / 1e6).toFixed(1)} MB | ${fmt(wat.bytes.length)}B |`,
    `| build time | (asc -O3, not timed here) | componentize ${ms(componentizeMs)} (empty cache) | componentize ${ms(componentizeHttpMs)} (empty cache) | ${ms(wat.componentizeMs)} |`,
    `| time limit | fuel | ${tsTl} | ${httpTl} | ${watTl} |`,
    `| cold start in-process, deploy → first reply | ${ms(median(coldAs))} | ${ms(coldTsEmpty)} (transpile cache empty), ${ms(coldTsWarm)} (cached) | ${ms(coldHttpEmpty)} (empty), ${ms(coldHttpWarm)} (cached) | ${ms(coldWatEmpty)} (empty), ${ms(coldWatWarm)} (cached) |`,
    `| warm calls/s in-process | ${fmt(asRate)} (sync, same thread) | ${fmt(tsRate)} (worker, 32 in flight); ${fmt(tsSeq)} one at a time | ${fmt(httpRate)} (worker, 32 in flight); ${fmt(httpSeq)} one at a time | ${fmt(watRate)} (worker, 32 in flight); ${fmt(watSeq)} one at a time |`,
    `| ratio to (a), in-process calls/s | 1.00x | ${x(tsRate, asRate, 5)} | ${x(httpRate, asRate, 5)} | ${x(watRate, asRate, 4)} |`,
    `| cold start over HTTP, PUT → first 200 | ${ms(hCold[0]!)} | ${ms(hCold[1]!)} | ${ms(hCold[2]!)} | ${ms(hCold[3]!)} |`,
    `| warm RPS over HTTP (gateway, 16 in flight) | ${fmt(hRate[0]!)} | ${fmt(hRate[1]!)} | ${fmt(hRate[2]!)} | ${fmt(hRate[3]!)} |`,
    `| ratio to (a), HTTP RPS | 1.00x | ${x(hRate[1]!, hRate[0]!)} | ${x(hRate[2]!, hRate[0]!)} | ${x(hRate[3]!, hRate[0]!)} |`,
  );
  out.push('', slow);
  return out.join('\n');
}

if (process.argv[1] === import.meta.filename) console.log(await run());
