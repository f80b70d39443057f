// npm run bench:dashboard — what the live dashboard costs the engine: kv gets over the wire protocol on
// `roam serve`'s port (as bench:places' "place auto, 128 in flight" row) with no dashboard open and with two
// pages streaming /ui/stream, in interleaved rounds of the same run; plus the per-message counter the
// places keep for it (LatencyCounts.record). Goal: two open dashboards cost ≤ 3 % of throughput.
// Writes benchmarks/RESULTS-dashboard.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { serve } from '../engine/server/serve.ts';
import { cachedBuild } from '../engine/build/cached-build.ts';
import { LatencyCounts } from '../engine/places/latency.ts';
import { connect, type Client } from '../engine/client/index.ts';
import { loadKeys } from '../engine/demo/ycsb.ts';
import { fmt, median } from './harness.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 10);
const N = Number(process.env.N ?? 300_000);
const KEYS = 10_000;
const TOKEN = 'bench-token';
const load0 = loadavg()[0]!;

const { url, close, gateway } = await serve({ port: 0, host: '127.0.0.1', token: TOKEN, wire: { workers: 2, dpu: false, maxFrame: 1 << 20, inlineUs: 100, nativeIo: true } });
const id = (await gateway.registry.deploy(null, await cachedBuild('functions/kv'), null, false)).wireId!;
const client = await connect(Number(new URL(url).port), { token: TOKEN });
await loadKeys(client, id, KEYS);
const key = (k: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(k));
  return b;
};
const keys = Array.from({ length: KEYS }, (_, i) => key(i + 1));

/** n kv gets, 128 in flight, place auto: ops/s. */
async function run(c: Client, n: number): Promise<number> {
  let i = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 128 }, async () => {
    while (i < n) {
      try {
        await c.sendRaw(id, 1, keys[i++ % KEYS]!, 'auto');
      } catch (e) {
        if (!(e as Error).message.includes('slot busy')) throw e;
      }
    }
  }));
  return n / ((performance.now() - t0) / 1000);
}

/** A child process that holds two pages' streams (read and JSON-parsed, as a browser tab would, off this
 *  process), opened and closed on command, so no process start-up falls inside a measured round. */
function dashboards(): { child: ChildProcess; open: () => Promise<void>; shut: () => Promise<number> } {
  const code = `
    let ticks = 0, ctl = null;
    const read = async (signal) => {
      const r = await fetch(process.argv[1] + '/ui/stream', { headers: { authorization: 'Bearer ${TOKEN}' }, signal });
      let buf = '';
      for await (const chunk of r.body.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let cut;
        while ((cut = buf.indexOf('\\n\\n')) >= 0) {
          const block = buf.slice(0, cut); buf = buf.slice(cut + 2);
          const data = block.split('\\n').find((l) => l.startsWith('data: '));
          if (data) { JSON.parse(data.slice(6)); if (block.startsWith('event: tick')) ticks++; }
        }
      }
    };
    process.on('message', (m) => {
      if (m === 'open') { ctl = new AbortController(); read(ctl.signal).catch(() => {}); read(ctl.signal).catch(() => {}); process.send('opened'); }
      else if (m === 'ticks') process.send(ticks);
      else { ctl.abort(); process.send(ticks); }
    });
    process.send('ready');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, url], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = <T>(m: string) => new Promise<T>((r) => (child.once('message', (x) => r(x as T)), child.send(m)));
  const until = async (ok: () => boolean) => {
    while (!ok()) await new Promise((r) => setTimeout(r, 20));
  };
  return {
    child,
    // Steady state: both pages have their history and two ticks each before a round starts.
    open: async () => {
      const before = await ask<number>('ticks');
      await ask('open');
      await until(() => gateway.dashboard.subscribers === 2);
      while ((await ask<number>('ticks')) < before + 4) await new Promise((r) => setTimeout(r, 50));
    },
    shut: async () => {
      const n = await ask<number>('close');
      await until(() => gateway.dashboard.subscribers === 0);
      return n;
    },
  };
}

const pages = dashboards();
pages.child.on('exit', (c, sig) => sig !== 'SIGTERM' && console.error(`the dashboard pages' process exited (${c ?? sig})`));
await new Promise((r) => pages.child.once('message', r));
await run(client, 20_000); // warm-up: inline lane, JIT
const without: number[] = [], withTwo: number[] = [];
let ticks = 0;
// ABBA: odd rounds measure with the pages first, so neither case always follows the other.
const withPages = async () => {
  await pages.open();
  withTwo.push(await run(client, N));
  ticks = await pages.shut();
};
for (let r = 0; r < ROUNDS; r++) {
  if (r % 2) await withPages();
  without.push(await run(client, N));
  if (r % 2 === 0) await withPages();
}
pages.child.kill();
// The sampler's own work per tick (sources read, differences, one JSON per audience), timed directly.
const T = 200;
const tt = performance.now();
for (let i = 0; i < T; i++) await gateway.dashboard.tick();
const tickMs = (performance.now() - tt) / T;
client.close();
await close();

// The counter every place bumps per message for the dashboard's p50/p99.
const lc = new LatencyCounts();
const M = 20_000_000;
const t = performance.now();
for (let i = 0; i < M; i++) lc.record((i & 1023) * 0.003);
const recordNs = ((performance.now() - t) * 1e6) / M;

const a = median(without), b = median(withTwo);
const pairs = without.map((x, i) => withTwo[i]! / x);
const out = [
  '# Dashboard cost (`npm run bench:dashboard`)', '',
  `Run ${new Date().toISOString()}, Node ${process.version}, 2 cores shared with other sessions (load average ${load0.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at the end).`, '',
  `kv get over the wire protocol on \`roam serve\`'s shared port (2 host workers, no DPU), place auto, 128 in flight, ${fmt(N)} gets per round; ${ROUNDS} interleaved rounds (ABBA order): without a dashboard and with two pages streaming /ui/stream (read and JSON-parsed in a child process, as two browser tabs would; the charts' drawing is the browser's, not the server's; a round starts once both pages have their history and two ticks each: steady state, not the opening). ${ticks} ticks reached the two pages during the "with" rounds.`, '',
  '| case | ops/s (median) | ratio |', '|---|---|---|',
  `| no dashboard (baseline) | ${fmt(a)} | 1.00x |`,
  `| two dashboards streaming | ${fmt(b)} | ${(b / a).toFixed(3)}x (goal ≥ 0.97x: ${b / a >= 0.97 ? 'met' : 'NOT met'}) |`, '',
  `Per round (with / without): ${pairs.map((x) => x.toFixed(3)).join(', ')}${Math.max(...pairs) - Math.min(...pairs) > 0.06 ? ` — a spread of ${(Math.min(...pairs)).toFixed(2)}–${(Math.max(...pairs)).toFixed(2)}x between rounds, wider than the 3 % the goal asks to resolve: on this machine's load the round figures are noise, and the sampler's own time below is what bounds the cost` : ''}.`, '',
  `The sampler's own work, timed directly (${T} ticks in a row, this server's state): ${tickMs.toFixed(3)} ms per tick = ${((100 * tickMs) / 250).toFixed(2)} % of one core at one tick per 250 ms, whatever the number of pages (each audience's JSON is made once per tick).`, '',
  `Per message, always on: one \`LatencyCounts.record\` (engine/places/latency.ts) at the place that ran it: ${recordNs.toFixed(2)} ns (${fmt(M)} records in a loop); steering adds one counter increment per steered message.`, '',
  'Command: `npm run bench:dashboard` (ROUNDS, N from the environment).',
];
writeFileSync('benchmarks/RESULTS-dashboard.md', out.join('\n') + '\n');
console.log(out.join('\n'));
process.exit(0);
