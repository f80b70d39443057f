import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kind } from '../engine/wire/frame.ts';
import { buildBundle } from '../fuzz/bundles-built.ts';
import { servedUrl } from './helpers/cli.ts';
import { RawWire, rssOf } from './helpers/wire-raw.ts';
import { withRound } from './helpers/with-round.ts';

const MiB = 1 << 20;
const ROUNDS = 120;

interface Memory {
  process: Record<string, number>;
  admission: { modules: number; bytes: number };
  functions: { workers: Array<{ deployments: number; plans: number }>; inline: { deployments: number; plans: number } | null };
  places: { host: { workers: Array<{ loaded: number; modules: number }>; inline: { loaded: number; modules: number } }; dpu: { loaded: number; modules: number } | null };
}

// Regression for issue 19's leftover: the bundle fuzzer's server grew 105 → 516 MiB over 500 redeploys of
// distinct bundles. Every place kept the replaced versions' compiled modules (admission's cache of 64 per
// engine: the server's, each host worker's, the DPU agent's) and every function worker their instances (256).
describe('many redeploys of distinct bundles', () => {
  let server: ChildProcess;
  let url = '';

  beforeAll(async () => {
    server = spawn(process.execPath, ['bin/roam.js', 'serve', '--no-auth', '--port', '0', '--threads', '1', '--workers', '1', '--dpu'], { stdio: ['ignore', 'pipe', 'pipe'] });
    url = await servedUrl(server);
  }, 120_000);
  afterAll(() => {
    server.kill('SIGTERM');
  });

  it(`keep what every place holds compiled bounded (${ROUNDS} new versions of a function, a handler bundle and a component, each called)`, async () => {
    const [hello, kv, wat] = (await Promise.all(['hello', 'kv', 'hello-wat'].map(buildBundle))).map((b) => b.bytes) as [Uint8Array, Uint8Array, Uint8Array];
    const ctl = await RawWire.open(Number(new URL(url).port));
    const put = async (name: string, bytes: Uint8Array) => {
      const r = await fetch(`${url}/v1/bundles/${name}`, { method: 'PUT', body: Buffer.from(bytes) });
      expect(r.status, await r.text()).toBe(201);
    };
    const memory = async () => ((await (await fetch(`${url}/v1/stats`)).json()) as { memory: Memory }).memory;
    let id = 1;
    let rssAfterWarmUp = 0;
    // The least RSS over the last 20 rounds: a leak raises it, a transient (a worker starting, garbage not yet collected) does not.
    let rssLate = Number.POSITIVE_INFINITY;
    for (let n = 1; n <= ROUNDS; n++) {
      await put('hello', withRound(hello, n));
      await put('kv', withRound(kv, n));
      await put('hello-wat', withRound(wat, n));
      // Each version runs at every place it reaches: the function on a worker, the handlers at the host
      // place (steering's pick), the component in its worker.
      expect(await (await fetch(`${url}/fn/greet/ann`)).text()).toContain('ann');
      expect((await fetch(`${url}/fn/hello-wat`)).status).toBe(200);
      const bundle = await ctl.resolve('kv');
      const r = await ctl.request(Kind.CALL, id++, bundle, 2, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 7]));
      expect(r?.kind).toBe(Kind.REPLY);
      ctl.replies.length = 0;
      if (n === 20) rssAfterWarmUp = rssOf(server.pid!);
      if (n > ROUNDS - 20) rssLate = Math.min(rssLate, rssOf(server.pid!));
    }
    // The old versions are forgotten at once (not only past an LRU bound): one compiled module per bundle
    // version in service, at most.
    await expect.poll(async () => (await memory()).functions.workers.at(-1)?.deployments).toBeLessThanOrEqual(2);
    const m = await memory();
    expect(m.admission.modules).toBeLessThanOrEqual(2);
    expect(m.functions.inline?.deployments ?? 0).toBeLessThanOrEqual(2);
    for (const w of m.places.host.workers) expect(w.modules).toBeLessThanOrEqual(3);
    expect(m.places.host.inline.modules).toBeLessThanOrEqual(3);
    expect(m.places.dpu?.modules ?? 0).toBeLessThanOrEqual(3);
    // A generous bound on RSS (GC timing moves it by tens of MiB): before, 100 rounds of these kinds
    // grew the server by ~180 MiB, most of it after round 20; now it stays within a few MiB.
    const grown = (rssLate - rssAfterWarmUp) / MiB;
    expect(grown, `RSS grew ${grown.toFixed(0)} MiB between round 20 and the last rounds`).toBeLessThan(64);
    ctl.destroy();
  }, 600_000);
});
