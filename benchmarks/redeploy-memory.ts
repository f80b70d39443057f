/**
 * npm run bench:redeploy — server memory over many redeploys of distinct bundle contents (issue 19: the
 * bundle fuzzer's server grew 105 → 516 MiB over 500 mutated redeploys).
 *
 * One `roam serve` (host workers and a DPU agent); N rounds, each deploying a new version of every kind of
 * bundle with code no earlier round had (a custom section with the round number: a new code key, a new
 * content hash) and calling it once, so every place compiles it: hello (a core function and handler), kv
 * (handlers with a region), kv-ts (TypeScript on QuickJS) and hello-wat (a component function, a
 * worker of its own). Prints the server's RSS every `--every` rounds and the engine's cache counts (the
 * admission cache, the function workers' instances and the places' compiled modules, from GET /v1/stats), so a leak shows as a
 * slope and a bounded cache as a plateau.
 *
 *     npm run bench:redeploy -- --rounds 200 --every 25 [--kinds hello,kv,kv-ts,hello-wat]
 */
import { loadavg } from 'node:os';
import { Served } from '../fuzz/lib.ts';
import { buildBundle } from '../fuzz/bundles-built.ts';
import { RawWire } from '../test/helpers/wire-raw.ts';
import { Kind } from '../engine/wire/frame.ts';
import { withRound } from '../test/helpers/with-round.ts';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const rounds = arg('rounds', 200);
const every = arg('every', 25);
const MiB = 1 << 20;
const out = (line: string) => void process.stdout.write(line + '\n');

async function main(): Promise<void> {
  const ki = process.argv.indexOf('--kinds');
  const kinds = ki > 0 ? process.argv[ki + 1]!.split(',') : ['hello', 'kv', 'kv-ts', 'hello-wat'];
  const built = Object.fromEntries(await Promise.all(kinds.map(async (k) => [k, (await buildBundle(k)).bytes] as const)));
  const s = await Served.start(['--dpu']);
  const ctl = await RawWire.open(s.port);
  const put = async (name: string, bytes: Uint8Array) => {
    const r = await fetch(`${s.url}/v1/bundles/${name}`, { method: 'PUT', body: Buffer.from(bytes) });
    if (r.status !== 201) throw new Error(`PUT ${name}: ${r.status} ${await r.text()}`);
  };
  let id = 1;
  const call = async (name: string, type: number, payload: Uint8Array) => {
    const bundle = await ctl.resolve(name);
    const r = await ctl.request(Kind.CALL, id++, bundle, type, payload);
    // A kv get of a missing key answers E_HANDLER 404: it ran, which is all this needs.
    if (!r || (r.kind !== Kind.REPLY && !r.payload.toString().startsWith('E_HANDLER'))) throw new Error(`call ${name}: ${r ? r.payload.toString() : 'no reply'}`);
    ctl.replies.splice(ctl.replies.indexOf(r), 1);
  };
  const fn = async (path: string) => {
    const r = await fetch(`${s.url}${path}`);
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
    await r.arrayBuffer();
  };
  const row = async (n: number) => {
    const st = (await (await fetch(`${s.url}/v1/stats`)).json()) as { memory?: unknown };
    out(`| ${n} | ${(s.rss() / MiB).toFixed(0)} | \`${JSON.stringify(st.memory ?? {})}\` |`);
  };
  const load0 = loadavg()[0]!.toFixed(1);
  out(`redeploy memory: ${rounds} rounds of ${kinds.join(', ')}, each with new code, called once (load ${load0})`);
  out('| round | server RSS, MiB | engine caches |');
  out('|---|---|---|');
  try {
    await row(0);
    for (let n = 1; n <= rounds; n++) {
      for (const k of kinds) await put(k, withRound(built[k]!, n));
      if (kinds.includes('hello')) await fn('/fn/greet/ann');
      if (kinds.includes('hello')) await call('hello', 1, Buffer.from('ann'));
      if (kinds.includes('kv')) await call('kv', 1, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]));
      if (kinds.includes('kv-ts')) await call('kv-ts', 1, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]));
      if (kinds.includes('hello-wat')) await fn('/fn/hello-wat');
      if (n % every === 0) await row(n);
    }
  } finally {
    ctl.destroy();
    await s.stop();
  }
  out(`load ${load0} → ${loadavg()[0]!.toFixed(1)}`);
}

await main();
