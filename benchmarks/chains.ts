/**
 * npm run bench:chains [-- --rounds R --duration S --threads N --connections C --only transport,cold,fair]
 *
 * `--only` runs the named parts (comma-separated) and prints them without rewriting RESULTS-chains.md
 * (unless `--out FILE` is given).
 *
 * The boutique chains (checkout, home: Online Boutique's call shape) on a real `roam serve` process, load
 * from autocannon:
 *   (a) shared-memory hand-off: the chain runs in one worker, each hop reads the previous reply in place
 *   (b) baseline: every hop is an HTTP request through the gateway to the next function (sidecar/broker)
 * plus cold start (deploy → first reply), fairness between 3 tenants weighted 6:1:2 under overload, and
 * the server's CPU while idle. Writes benchmarks/RESULTS-chains.md.
 */
import { plotBars, plotHistogram } from './plot.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { request } from 'undici';
import { buildProject } from '../engine/build/assemblyscript.ts';
import { embedManifest, readBundle } from '../engine/bundle/bundle.ts';
import type { Manifest } from '../engine/bundle/manifest.ts';
import { Engine } from '../engine/runtime/engine.ts';
import { encodeRequest } from '../engine/runtime/http-abi.ts';
import { median, procCpuMs } from './harness.ts';
import { connect, type Client } from '../engine/client/index.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'bench-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, duration: { type: 'string', default: '8' }, threads: { type: 'string' }, connections: { type: 'string', default: '16' }, out: { type: 'string' }, only: { type: 'string' }, 'fair-connections': { type: 'string', default: '32' }, 'fair-route': { type: 'string', default: 'checkout' } },
});
const DURATION = Number(args.duration);
const ROUNDS = Number(args.rounds);
const CONNECTIONS = Number(args.connections);
const THREADS = args.threads ? Number(args.threads) : undefined;
const PARTS = new Set((args.only ?? 'transport,cold,fair').split(',').map((x) => x.trim()));
for (const p of PARTS) if (!['transport', 'cold', 'fair', 'memory'].includes(p)) throw new Error(`--only: unknown part '${p}' (transport, cold, fair, memory)`);
const OUT = args.out ?? (args.only ? null : join(ROOT, 'benchmarks/RESULTS-chains.md'));

const ORDER = 'user=u42\ncurrency=EUR\nitems=OLJCESPC7Z:2,9SIQT8TOJO:1,1YMWWN1N4O:1,L9ECAV7KIM:1\n';

/** Builds an AssemblyScript project unless its build output is newer than its sources. */
async function bundle(dir: string, name: string): Promise<Uint8Array> {
  const out = join(ROOT, dir, 'build', `${name}.wasm`);
  const newest = (d: string): number => Math.max(...readdirSync(d, { withFileTypes: true }).map((f) => (f.isDirectory() ? newest(join(d, f.name)) : statSync(join(d, f.name)).mtimeMs)));
  if (existsSync(out) && statSync(out).mtimeMs > Math.max(newest(join(ROOT, dir, 'assembly')), statSync(join(ROOT, dir, 'roam.json')).mtimeMs, newest(join(ROOT, 'guest-sdk/assembly')))) return readFileSync(out);
  return (await buildProject(join(ROOT, dir))).bytes;
}

const variant = (bytes: Uint8Array, change: Partial<Manifest>) => {
  const { manifest, module } = readBundle(bytes);
  return embedManifest(module.bytes, { ...manifest, ...change });
};

async function startServer(extra: string[] = []): Promise<{ url: string; child: ChildProcess }> {
  // The server's stderr (JSON logs, guest log lines) is dropped; its failures show as failed requests.
  const child = spawn(process.execPath, [join(ROOT, 'bin/roam.js'), 'serve', '--port', '0', '--token', TOKEN, ...(THREADS ? ['--threads', String(THREADS)] : []), ...extra], { stdio: ['ignore', 'pipe', 'ignore'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /serving on (http:\/\/[^\s"]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`roam serve exited with ${code}`)));
  });
  return { url, child };
}

async function api(url: string, method: string, path: string, body?: Uint8Array | string): Promise<any> {
  const r = await request(url + path, { method: method as 'GET', headers: AUTH, ...(body !== undefined ? { body } : {}) });
  const text = await r.body.text();
  if (r.statusCode >= 400) throw new Error(`${method} ${path}: ${r.statusCode} ${text}`);
  return JSON.parse(text);
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  total: number;
}

async function load(url: string, path: string, seconds: number, connections = CONNECTIONS, body = ORDER): Promise<Load> {
  const r = await autocannon({ url: url + path, method: 'POST', body, connections, duration: seconds, pipelining: 1 });
  return { rps: r.requests.total / r.duration, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, total: r.requests.total };
}

const sumCalls = (stats: { bundles: Record<string, { calls: number }> }) => Object.values(stats.bundles).reduce((a, b) => a + b.calls, 0);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const f1 = (x: number) => x.toFixed(1);

async function main(): Promise<void> {
  const boutique = await bundle('functions/boutique', 'boutique');
  const hello = await bundle('functions/hello', 'hello');
  const lines: string[] = [];
  const say = (s = '') => {
    process.stdout.write(s + '\n');
    lines.push(s);
  };
  const transport = PARTS.has('transport') ? await runTransport(boutique) : null;
  const cold = PARTS.has('cold') ? await runCold(hello) : null;
  const fair = PARTS.has('fair') ? await runFair(boutique) : null;
  const memory = PARTS.has('memory') ? await runMemory(hello, await bundle('functions/stream', 'stream')) : null;

  // ---- report ----
  const cpu = cpus();
  say('# Chains benchmark (`npm run bench:chains`)');
  say();
  say(`Run ${new Date().toISOString()} on ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}.`);
  say(`Command: \`npm run bench:chains -- --rounds ${ROUNDS} --duration ${DURATION} --connections ${CONNECTIONS}${THREADS ? ` --threads ${THREADS}` : ''}${args.only ? ` --only ${args.only}` : ''}\`; server \`roam serve\` in its own process${transport ? ` with ${transport.workers} function workers` : ''}; load from autocannon (same machine).`);
  if (transport) {
    const { results, hopsPer, single, loadBefore, loadAfter, idlePct, sample } = transport;
    say(`The machine is shared with other work: 1-minute load average ${loadBefore.toFixed(1)} before the transport rounds, ${loadAfter.toFixed(1)} after (2 cores).`);
    say();
    say('## Boutique chains: shared-memory hand-off vs every hop over HTTP');
    say();
    say('Online Boutique\'s call shape (functions/boutique): `checkout` = frontend → PlaceOrder, which calls cart, then catalog and currency per item, shipping quote, currency, payment, ship, empty cart, email; `home` = frontend → the home page view, which calls currency (list), catalog (list), cart, currency per product (9), ads. A call and its return are two hops. Order: 4 items priced in EUR.');
    say();
    say('- (a) `/chain/ROUTE`: the gateway parses the request once and writes it into the shared payload pool; one function worker runs the whole chain, each hop getting the previous reply\'s body in place (one copy into the callee\'s linear memory, none between threads); the reply goes back as a descriptor.');
    say('- (b) `/chain/ROUTE-http`, the sidecar/broker pattern: the gateway is the broker and sends every hop as its own HTTP request to `/fn/NAME` on itself (undici Pool, 64 keep-alive connections), which parses it, schedules it and runs it in a worker like any request, and reads the answer off the socket. A sidecar mesh pays more per RPC (app → local proxy → remote proxy → app); here an RPC is two broker requests (the call, and the return to the caller).');
    say();
    say(`${ROUNDS} interleaved rounds of ${DURATION} s per transport (after a 2 s warm-up each), ${CONNECTIONS} connections; the table shows the median round by req/s.`);
    say();
    say('| route | hops | transport | req/s | p50 ms | p99 ms | non-2xx | errors |');
    say('|---|---:|---|---:|---:|---:|---:|---:|');
    for (const route of ROUTES) {
      const { shm, http } = results[route]!;
      say(`| ${route} | ${hopsPer[route]} | (a) shared-memory hand-off | ${f1(shm.rps)} | ${shm.p50} | ${shm.p99} | ${shm.non2xx} | ${shm.errors} |`);
      say(`| ${route} | ${hopsPer[route]} | (b) each hop an HTTP request through the gateway | ${f1(http.rps)} | ${http.p50} | ${http.p99} | ${http.non2xx} | ${http.errors} |`);
    }
    say(`| for scale | 1 | one function (frontend) over HTTP | ${f1(single.rps)} | ${single.p50} | ${single.p99} | ${single.non2xx} | ${single.errors} |`);
    say();
    say(await plotBars('chains-speedup', { title: 'Chain speedup per hop count: shared-memory hand-off / HTTP per hop (req/s)', x: 'hops in the chain (route)', y: { title: 'speedup, x' }, bars: ROUTES.map((r) => ({ label: `${hopsPer[r]} (${r})`, value: results[r]!.shm.rps / results[r]!.http.rps })), goal: { y: 10, label: 'goal 10x' } }));
    say();
    for (const route of ROUTES) {
      const { shm, http, rounds } = results[route]!;
      say(`**${route}: (a)/(b) = ${(shm.rps / http.rps).toFixed(2)}x req/s, p99 ${(http.p99 / Math.max(shm.p99, 0.001)).toFixed(2)}x lower.** Per round (a) / (b): ${rounds}.`);
      say();
    }
    say('Goal ≥ 10x.');
    say();
    say('## Idle');
    say();
    say(`Server process CPU over ${IDLE_S} s idle after the load, all threads: ${idlePct.toFixed(2)}% of one core.`);
    say();
    say('Sample checkout reply:');
    say();
    say('```json');
    say(sample);
    say('```');
    say();
  }
  if (cold) {
    say('## Cold start: deploy → first reply');
    say();
    say(`hello bundle (${hello.length} bytes), a new version (new hash) each time, on a warm server with 2 function workers; ${COLD_RUNS} runs of each kind after ${COLD_WARMUP} warm-up runs, interleaved. The deploy hands the compiled module and the function's run plan to every worker (one broadcast) and replies; the workers instantiate while the reply travels, so the first call finds a warm instance. The handler rows: hello's message handler, new code, its first reply over the wire on a connection held open (the client resolves again after the server's BUNDLE_CHANGED notice; the host worker compiles the module on its deploy message). 1-minute load average ${cold.load[0]!.toFixed(1)} before, ${cold.load[1]!.toFixed(1)} after (2 cores).`);
    say();
    say(`| server | | median ms | p90 ms |`);
    say('|---|---|---:|---:|');
    for (const [label, c] of [['no --state', cold.mem], ['--state DIR (one atomic file write per deploy)', cold.disk]] as const) {
      say(`| ${label} | PUT /v1/bundles, new code (upload, verify, meter, compile${c === cold.disk ? ', persist' : ''}) | ${f1(median(c.deployFresh))} | ${f1(pct(c.deployFresh, 0.9))} |`);
      say(`| ${label} | **deploy → first reply, new code** | ${f1(median(c.fresh))} | ${f1(pct(c.fresh, 0.9))} |`);
      say(`| ${label} | PUT /v1/bundles, same code, new manifest (verify; meter and compile reused${c === cold.disk ? '; persist' : ''}) | ${f1(median(c.deploySame))} | ${f1(pct(c.deploySame, 0.9))} |`);
      say(`| ${label} | **deploy → first reply, same code, new manifest** | ${f1(median(c.same))} | ${f1(pct(c.same, 0.9))} |`);
      say(`| ${label} | **deploy → first wire reply of its message handler, new code** | ${f1(median(c.handler))} | ${f1(pct(c.handler, 0.9))} |`);
    }
    say();
    say('Goal ≤ 10 ms.');
    say();
    say(await plotHistogram('chains-cold-start', { title: 'Cold start distribution: deploy → first reply, new code', x: { title: 'ms' }, groups: { 'no --state': cold.mem.fresh, '--state DIR': cold.disk.fresh }, goal: { x: 10, label: 'goal 10 ms' } }));
    say();
  }
  if (fair) {
    const { done, served, backlogged, loads, load } = fair;
    const sumDone = done.reduce((a, b) => a + b, 0);
    const sumServed = served.reduce((a, b) => a + b, 0);
    say('## Fairness: 3 tenants weighted 6:1:2 under overload');
    say();
    if (args['fair-route'] === 'pipeline') say('**`--fair-route pipeline`**: each tenant runs its own copy of a light six-step pipeline (frontend → cart → catalog → currency → shipquote → emptycart) instead of the checkout chain described next.');
    say(`Each tenant runs the boutique \`checkout\` chain (32 hops) under its own route, owning its first two steps (frontend and the PlaceOrder orchestrator, the same code under the tenant's names; the services it calls are one shared bundle), so the whole run is scheduled as that tenant and a request costs the same whoever sends it: throughput shares are worker-time shares; each is offered the same closed-loop load (${FAIR_CONNECTIONS} connections each, ${DURATION * 2} s), together far above capacity. Every tenant must stay backlogged for the shares to mean anything: \`backlogged\` is the fraction of the scheduler's decisions during the run that found the tenant with a run waiting (from \`/v1/stats\`). 1-minute load average ${load[0]!.toFixed(1)} before, ${load[1]!.toFixed(1)} after (2 cores).`);
    say();
    say('| tenant | weight | completed | share of completions | share of worker time (guest time charged) | target share | backlogged |');
    say('|---|---:|---:|---:|---:|---:|---:|');
    FAIR_TENANTS.forEach((t, i) => say(`| ${t} | ${FAIR_WEIGHTS[i]} | ${done[i]} | ${((done[i]! / sumDone) * 100).toFixed(1)}% | ${((served[i]! / sumServed) * 100).toFixed(1)}% | ${((FAIR_WEIGHTS[i]! / 9) * 100).toFixed(1)}% | ${(backlogged[i]! * 100).toFixed(0)}% |`));
    say();
    say(`Offered load per tenant: ${loads.map((r, i) => `${FAIR_TENANTS[i]} ${f1(r.rps)} req/s, p99 ${r.p99} ms, non-2xx ${r.non2xx}`).join('; ')}.`);
    say();
  }
  if (memory) {
    say('## Memory for a large body: inline ABI vs roam:body');
    say();
    say(`One ${MEM_BODY / 2 ** 20} MiB POST per case. Guest memory: the instance's linear memory after the call (Engine in this process). Server peak RSS: VmHWM of a fresh \`roam serve --threads 1 --max-body ${2 * MEM_BODY}\` after a small warm-up call and after the large one. 1-minute load average ${memory.load[0]!.toFixed(1)} before, ${memory.load[1]!.toFixed(1)} after.`);
    say();
    say('| case | body ABI | guest linear memory | server peak RSS before → after (Δ) |');
    say('|---|---|---:|---:|');
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
    for (const m of memory.rows) say(`| ${m.label} | ${m.abi} | ${mib(m.guest)} | ${mib(m.rss0)} → ${mib(m.rss1)} (+${mib(m.rss1 - m.rss0)}) |`);
    say();
    say('With the inline ABI the body is held twice: in the shared buffer the gateway streamed it into and, whole, in the guest\'s linear memory (which stays grown). With roam:body the guest holds one 64 KiB chunk and the host the body once (plus, for shout, the reply it wrote, once). The RSS deltas also count Node\'s socket read chunks not yet collected, so they move by several MiB between runs; the guest memory column is exact.');
    say();
  }
  if (OUT) writeFileSync(OUT, lines.join('\n') + '\n');
}

const ROUTES = ['checkout', 'home'];
const IDLE_S = 5;

async function runTransport(boutique: Uint8Array) {
  // ---- (a) vs (b): the same chains, two hop transports ----
  const s1 = await startServer();
  await api(s1.url, 'PUT', '/v1/bundles/boutique', boutique);
  const chains = JSON.parse(readFileSync(join(ROOT, 'functions/boutique/roam.chains.json'), 'utf8')).chains as Record<string, { steps: string[]; also?: string[] }>;
  const samples: Record<string, string> = {};
  const hopsPer: Record<string, number> = {};
  for (const route of ROUTES) {
    await api(s1.url, 'PUT', `/v1/chains/${route}`, JSON.stringify(chains[route]));
    await api(s1.url, 'PUT', `/v1/chains/${route}-http`, JSON.stringify({ ...chains[route], hops: 'http' }));
    const calls0 = sumCalls(await api(s1.url, 'GET', '/v1/stats'));
    const check = await request(`${s1.url}/chain/${route}/`, { method: 'POST', body: ORDER });
    samples[route] = await check.body.text();
    if (check.statusCode !== 200) throw new Error(`${route} failed: ${samples[route]}`);
    hopsPer[route] = sumCalls(await api(s1.url, 'GET', '/v1/stats')) - calls0;
    const viaHttp = await (await request(`${s1.url}/chain/${route}-http/`, { method: 'POST', body: ORDER })).body.text();
    if (viaHttp !== samples[route]) throw new Error(`the two transports disagree on ${route}`);
  }
  const loadBefore = loadavg()[0]!;
  const results: Record<string, { shm: Load; http: Load; rounds: string }> = {};
  for (const route of ROUTES) {
    // Warm-up, then interleaved rounds, so a burst of other load on the machine hits both transports alike.
    await load(s1.url, `/chain/${route}/`, 2);
    await load(s1.url, `/chain/${route}-http/`, 2);
    const shmRounds: Load[] = [];
    const httpRounds: Load[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      shmRounds.push(await load(s1.url, `/chain/${route}/`, DURATION));
      httpRounds.push(await load(s1.url, `/chain/${route}-http/`, DURATION));
    }
    const mid = (rs: Load[]): Load => [...rs].sort((x, y) => x.rps - y.rps)[Math.floor(rs.length / 2)]!;
    results[route] = { shm: mid(shmRounds), http: mid(httpRounds), rounds: shmRounds.map((r, i) => `${f1(r.rps)} / ${f1(httpRounds[i]!.rps)} = ${(r.rps / httpRounds[i]!.rps).toFixed(2)}x`).join('; ') };
  }
  const loadAfter = loadavg()[0]!;
  const single = await load(s1.url, '/fn/frontend/', DURATION);
  const stats = await api(s1.url, 'GET', '/v1/stats');

  // ---- idle CPU of the server process after the load ----
  await new Promise((r) => setTimeout(r, 1000));
  const c0 = procCpuMs(s1.child.pid!) / 1000;
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  const idlePct = ((procCpuMs(s1.child.pid!) / 1000 - c0) / IDLE_S) * 100;
  s1.child.kill('SIGTERM');
  return { results, hopsPer, single, loadBefore, loadAfter, idlePct, sample: samples.checkout!, workers: stats.workers as number };
}

const COLD_RUNS = 20;
const COLD_WARMUP = 10;

interface ColdRuns {
  same: number[];
  fresh: number[];
  /** Deploy (new code) → the first reply of hello's message handler over the wire (the same port). */
  handler: number[];
  deploySame: number[];
  deployFresh: number[];
}

/** Deploy → first reply, a new version (new hash) each time, on a server without and one with --state. */
async function runCold(hello: Uint8Array) {
  // `same code`: only the manifest changes (a config redeploy); `new code`: a unique custom section makes
  // the code differ too, so nothing is reused (verify, meter, compile, instantiate all run).
  const nonce = (i: number) => {
    const name = Buffer.from('bench.nonce');
    const payload = Buffer.from(`${process.pid}.${i}.${Date.now()}`);
    return Buffer.concat([Buffer.from([0, 1 + name.length + payload.length, name.length]), name, payload]);
  };
  const stateDir = mkdtempSync(join(tmpdir(), 'roam-bench-state-'));
  const load0 = loadavg()[0]!;
  const servers = [await startServer(['--threads', '2']), await startServer(['--threads', '2', '--state', stateDir])];
  const out = servers.map((): ColdRuns => ({ same: [], fresh: [], handler: [], deploySame: [], deployFresh: [] }));
  // One wire connection per server, opened once (as a client would hold it); server-side places only.
  const clients: Client[] = [];
  try {
    for (const s of servers) clients.push(await connect(Number(new URL(s.url).port), { token: TOKEN, clientPlace: false }));
    for (let i = 0; i < COLD_WARMUP + COLD_RUNS; i++) {
      for (let k = 0; k < servers.length; k++) {
        const url = servers[k]!.url;
        for (const fresh of [false, true]) {
          const v = variant(hello, { version: `cold.${i}.${fresh ? 'n' : 's'}.${Date.now()}` });
          const b = fresh ? Buffer.concat([v, nonce(i)]) : v;
          const t0 = performance.now();
          const r = await request(`${url}/v1/bundles/hello`, { method: 'PUT', body: b, headers: AUTH });
          await r.body.dump();
          if (r.statusCode !== 201) throw new Error(`cold deploy failed: ${r.statusCode}`);
          const t1 = performance.now();
          const g = await request(`${url}/fn/greet/cold`);
          await g.body.dump();
          if (g.statusCode !== 200) throw new Error('cold call failed');
          const t2 = performance.now();
          if (i >= COLD_WARMUP) {
            (fresh ? out[k]!.deployFresh : out[k]!.deploySame).push(t1 - t0);
            (fresh ? out[k]!.fresh : out[k]!.same).push(t2 - t0);
          }
        }
        // The handler: new code, then the first wire reply (the client re-resolves after BUNDLE_CHANGED;
        // the host worker compiles the new module on its deploy message, the inline lane in the background).
        const h = Buffer.concat([variant(hello, { version: `cold.${i}.h.${Date.now()}` }), nonce(i + 100_000)]);
        const t0 = performance.now();
        const r = await request(`${url}/v1/bundles/hello`, { method: 'PUT', body: h, headers: AUTH });
        await r.body.dump();
        if (r.statusCode !== 201) throw new Error(`cold handler deploy failed: ${r.statusCode}`);
        const reply = await clients[k]!.send('hello/hello', Buffer.from('cold'));
        const t1 = performance.now();
        if (Buffer.from(reply).toString() !== 'hello, cold') throw new Error(`cold handler call answered '${Buffer.from(reply).toString()}'`);
        if (i >= COLD_WARMUP) out[k]!.handler.push(t1 - t0);
      }
    }
  } finally {
    for (const c of clients) c.close();
    for (const s of servers) s.child.kill('SIGTERM');
    rmSync(stateDir, { recursive: true, force: true });
  }
  return { mem: out[0]!, disk: out[1]!, load: [load0, loadavg()[0]!] };
}

const FAIR_TENANTS = ['gold', 'bronze', 'silver'];
const FAIR_WEIGHTS = [6, 1, 2];
const FAIR_CONNECTIONS = Number(args['fair-connections']);

/** 3 tenants 6:1:2, equal closed-loop offered load far above capacity. */
async function runFair(boutique: Uint8Array) {
  mkdirSync(join(ROOT, '.roam-cache'), { recursive: true });
  const tenantsFile = join(ROOT, '.roam-cache/bench-tenants.json');
  writeFileSync(tenantsFile, JSON.stringify({ tenants: Object.fromEntries(FAIR_TENANTS.map((t, i) => [t, { weight: FAIR_WEIGHTS[i] }])) }));
  const s2 = await startServer(['--tenants', tenantsFile]);
  // The boutique services are one bundle of the default tenant; each tenant owns the first two steps of
  // its own checkout route (frontend → PlaceOrder, the same code under its own names), so the whole run
  // (the orchestrator's calls to cart, catalog, currency, … included) is scheduled as that tenant. Every
  // tenant's request is the same work: throughput shares are worker-time shares.
  // `--fair-route pipeline` (the earlier setup, kept for comparison): each tenant its own copy of a light
  // six-step pipeline; there the gateway thread's HTTP work, not the workers, is what runs out first.
  if (args['fair-route'] === 'pipeline') {
    for (const t of FAIR_TENANTS) {
      const fns = ['frontend', 'cart', 'catalog', 'currency', 'shipquote', 'emptycart'].map((s) => ({ name: `${t}.${s}`, export: s }));
      await api(s2.url, 'PUT', `/v1/bundles/shop-${t}`, variant(boutique, { name: `shop-${t}`, tenant: t, functions: fns, chains: {} }));
      await api(s2.url, 'PUT', `/v1/chains/${t}`, JSON.stringify({ steps: fns.map((f) => f.name) }));
    }
  } else {
    await api(s2.url, 'PUT', '/v1/bundles/boutique', boutique);
    const spec = (JSON.parse(readFileSync(join(ROOT, 'functions/boutique/roam.chains.json'), 'utf8')) as { chains: Record<string, { steps: string[]; also: string[] }> }).chains.checkout!;
    for (const t of FAIR_TENANTS) {
      const fns = spec.steps.map((s) => ({ name: `${t}.${s}`, export: s }));
      await api(s2.url, 'PUT', `/v1/bundles/shop-${t}`, variant(boutique, { name: `shop-${t}`, tenant: t, functions: fns, chains: {} }));
      await api(s2.url, 'PUT', `/v1/chains/${t}`, JSON.stringify({ steps: fns.map((f) => f.name), also: spec.also }));
      const check = await request(`${s2.url}/chain/${t}/`, { method: 'POST', body: ORDER });
      if (check.statusCode !== 200) throw new Error(`tenant ${t}'s checkout failed: ${await check.body.text()}`);
      await check.body.dump();
    }
  }
  await Promise.all(FAIR_TENANTS.map((t) => load(s2.url, `/chain/${t}/`, 2, FAIR_CONNECTIONS)));
  const load0 = loadavg()[0]!;
  const before = (await api(s2.url, 'GET', '/v1/stats')).tenants;
  const loads = await Promise.all(FAIR_TENANTS.map((t) => load(s2.url, `/chain/${t}/`, DURATION * 2, FAIR_CONNECTIONS)));
  const after = (await api(s2.url, 'GET', '/v1/stats')).tenants;
  s2.child.kill('SIGTERM');
  return {
    done: FAIR_TENANTS.map((t) => after[t].completed - before[t].completed),
    served: FAIR_TENANTS.map((t) => after[t].workMs - before[t].workMs),
    // Of the scheduler's decisions in the run, the fraction that found the tenant with a run waiting.
    backlogged: FAIR_TENANTS.map((t) => (after[t].backlogged - before[t].backlogged) / Math.max(after[t].decisions - before[t].decisions, 1)),
    loads,
    load: [load0, loadavg()[0]!],
  };
}

const MEM_BODY = 8 * 1024 * 1024;

/** Peak resident memory of a process (VmHWM), bytes. */
function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/**
 * A large body through a function with the inline ABI (the whole request copied into linear memory: the
 * body held twice, by the host and by the guest) and through roam:body functions (read, and read and
 * written back, in 64 KiB chunks).
 */
async function runMemory(hello: Uint8Array, stream: Uint8Array) {
  const big = Buffer.alloc(MEM_BODY, 'lorem ipsum dolor sit amet\n');
  // functions/hello's greet ignores its body, but with the inline ABI the host copies it in anyway.
  const inline = variant(hello, { limits: { memoryPages: 1024, fuel: 1_000_000 } });
  const cases = [
    { label: 'hello greet (ignores the body)', abi: 'inline (before)', bytes: inline, bundle: 'hello', fn: 'greet' },
    { label: 'stream wc (reads every byte)', abi: 'roam:body read', bytes: stream, bundle: 'stream', fn: 'wc' },
    { label: 'stream shout (reads and writes back every byte)', abi: 'roam:body read + write', bytes: stream, bundle: 'stream', fn: 'shout' },
  ];
  const load0 = loadavg()[0]!;
  const rows = [];
  const engine = new Engine();
  for (const c of cases) {
    const d = engine.deploy(c.bytes);
    d.call(c.fn, encodeRequest({ method: 'POST', path: '/', headers: [], body: big }));
    const guest = d.memoryBytes();
    const s = await startServer(['--threads', '1', '--max-body', String(2 * MEM_BODY)]);
    try {
      await api(s.url, 'PUT', `/v1/bundles/${c.bundle}`, c.bytes);
      const warm = await request(`${s.url}/fn/${c.fn}/`, { method: 'POST', body: 'warm' });
      await warm.body.dump();
      await new Promise((r) => setTimeout(r, 200));
      const rss0 = peakRss(s.child.pid!);
      const r = await request(`${s.url}/fn/${c.fn}/`, { method: 'POST', body: big });
      await r.body.dump();
      if (r.statusCode !== 200) throw new Error(`${c.fn} with a large body: ${r.statusCode}`);
      rows.push({ ...c, guest, rss0, rss1: peakRss(s.child.pid!) });
    } finally {
      s.child.kill('SIGTERM');
    }
  }
  return { rows, load: [load0, loadavg()[0]!] };
}

await main();
