// The remote DPU agent end to end: a real `roam serve --rdma --dpu-remote` and a real
// `roam dpu-agent --connect HOST:PORT --rdma` (another process; then another network namespace joined by a
// veth pair, UCX over TCP), kv pinned to the dpu place while host clients write the same table; tokens and
// tenants; the agent killed mid-load (one reply per message, the host serves on, a new agent takes over).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { rdmaAvailable } from '../engine/rdma/worker.ts';
import { connect, type Client } from '../engine/client/index.ts';
import { FrameDecoder } from '../engine/wire/decoder.ts';
import { Kind, encodeFrame, parseError } from '../engine/wire/frame.ts';
import { embedManifest, readBundle } from '../engine/bundle/bundle.ts';
import { bundleOf } from './helpers/build.ts';
import { kvKey } from './helpers/rdma-kv.ts';
import { netnsSkipReason, vethPair, type VethPair } from './helpers/netns.ts';
import { deployBundle, startAgent, startServer, type Proc } from './helpers/dpu-remote.ts';

const noUcx = rdmaAvailable() ? '' : 'the roam_ucx addon is not built (install libucx-dev, then npm run build:native)';
const noNetns = netnsSkipReason();
if ((noUcx || noNetns) && process.env.CI === 'true') throw new Error(`CI must run the remote dpu agent tests: ${noUcx || noNetns}`);

const ADMIN = 'dpu-admin';
const SHOP = 'shop-token';
const OTHER = 'other-token';
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const value = (round: number) => new Uint8Array(48).fill(round & 0xff);

async function tenantKv(tenant: string, name = 'kv'): Promise<Uint8Array> {
  const b = readBundle(await bundleOf('functions/kv'));
  return embedManifest(b.bytes, { ...b.manifest, tenant, name });
}

/** AUTH (when a token is given), then one frame; resolves with the answer to that frame, or the first error
 *  (a refused AUTH closes the connection). */
async function raw(host: string, port: number, token: string | null, kind: number, payload: Uint8Array, bundle = 0): Promise<{ kind: number; code?: string; text: string }> {
  const s = net.connect(port, host);
  const want = token === null ? 1 : 2;
  const answers: { kind: number; payload: Uint8Array }[] = [];
  const done = new Promise<void>((resolve, reject) => {
    const d = new FrameDecoder(1 << 20, {
      frame: (f) => {
        answers.push({ kind: f.kind, payload: f.payload.slice() });
        if (answers.length === want || f.kind === Kind.ERROR) resolve();
      },
      oversize: () => reject(new Error('oversize')),
      corrupt: (r) => reject(new Error(r)),
    });
    s.on('data', (c: Buffer) => d.push(c));
    s.on('error', reject);
    s.on('close', () => reject(new Error(`closed after ${answers.length} answers`)));
  });
  const f = { place: 0, flags: 0, code: 0, bundle: 0 };
  if (token !== null) s.write(encodeFrame({ ...f, kind: Kind.AUTH, id: 1 }, Buffer.from(token)));
  s.write(encodeFrame({ ...f, kind, id: 2, bundle }, payload));
  await done;
  s.destroy();
  const a = answers[answers.length - 1]!;
  return a.kind === Kind.ERROR ? { kind: a.kind, code: parseError(a.payload).code, text: parseError(a.payload).message } : { kind: a.kind, text: text(a.payload) };
}

const modes = [
  { name: 'another process, one machine (UCX default transports)', skip: noUcx, netns: false },
  { name: 'another network namespace over a veth pair (UCX over TCP)', skip: noNetns, netns: true },
] as const;

for (const mode of modes) describe.skipIf(!!mode.skip).sequential(`roam dpu-agent --rdma: ${mode.name}`, () => {
  let pair: VethPair | undefined;
  let server: Proc & { url: string; port: number };
  let agent: Proc;
  let host = '127.0.0.1';
  let shop: Client, writer: Client;
  let serverEnv: Record<string, string> = {}, agentEnv: Record<string, string> = {};
  const inB = (argv: string[]) => (pair ? pair.exec(pair.nsB, argv) : ([argv[0]!, argv.slice(1)] as [string, string[]]));
  const attach = (token: string | null = ADMIN) => startAgent(host, server.port, token, agentEnv, inB);

  beforeAll(async () => {
    if (mode.netns) {
      // The server in this (root) namespace on its veth end; the agent alone in the other namespace.
      pair = vethPair('rdpu', { rootSide: true });
      host = pair.ipA;
      serverEnv = { UCX_TLS: 'tcp', UCX_NET_DEVICES: pair.vethA };
      agentEnv = { UCX_TLS: 'tcp', UCX_NET_DEVICES: pair.vethB };
    }
    server = await startServer({ host, admin: ADMIN, tenants: { shop: SHOP, other: OTHER }, env: serverEnv });
    await deployBundle(server.url, SHOP, 'kv', await tenantKv('shop'));
    agent = await attach();
    expect(agent.out()).toMatch(/attached/);
    shop = await connect(`roam://${host}:${server.port}`, { token: SHOP });
    writer = await connect(`roam://${host}:${server.port}`, { token: SHOP });
  }, 120_000);

  afterAll(() => {
    shop?.close();
    writer?.close();
    for (const p of [agent, server]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    pair?.remove();
  });

  it('runs kv pinned to the dpu place on the host\'s table: puts there seen by the host, and back', async () => {
    for (let k = 1; k <= 30; k++) {
      const r = await shop.call('kv/put', kvKey(k, Buffer.from(`dpu-${k}`)), { place: 'dpu' });
      expect(r.place).toBe('dpu');
    }
    for (let k = 1; k <= 30; k++) expect(text((await writer.call('kv/get', kvKey(k), { place: 'host' })).bytes)).toBe(`dpu-${k}`);
    await writer.call('kv/put', kvKey(77, Buffer.from('from-host')), { place: 'host' });
    const g = await shop.call('kv/get', kvKey(77), { place: 'dpu' });
    expect([g.place, text(g.bytes)]).toEqual(['dpu', 'from-host']);
    await shop.call('kv/del', kvKey(1), { place: 'dpu' });
    await expect(writer.call('kv/get', kvKey(1), { place: 'host' })).rejects.toThrow(/not found/);
  });

  it('never returns a torn value, and loses no put, while host clients rewrite the table', async () => {
    const keys = 4, target = 300;
    let rounds = 0, gets = 0;
    const writing = (async () => {
      while (gets < target) {
        const round = ++rounds;
        await Promise.all(Array.from({ length: keys }, (_, k) => writer.call('kv/put', kvKey(1000 + k, value(round)), { place: 'host' })));
      }
    })();
    // Puts at the dpu on keys of their own, at the same time.
    const dpuPuts = Promise.all(Array.from({ length: 200 }, (_, i) => shop.call('kv/put', kvKey(5000 + i, Buffer.from(`p${i}`)), { place: 'dpu' })));
    const seen = new Set<number>();
    while (gets < target) {
      const batch = await Promise.allSettled(Array.from({ length: keys }, (_, k) => shop.call('kv/get', kvKey(1000 + k), { place: 'dpu' })));
      for (const r of batch) {
        if (r.status === 'rejected') {
          expect(String(r.reason)).toMatch(/not found|busy/); // before the first put / a writer held the slot too long
          continue;
        }
        const v = r.value.bytes;
        expect(r.value.place).toBe('dpu');
        expect(v.length).toBe(48);
        expect(v.every((b) => b === v[0]), `torn value ${Buffer.from(v).toString('hex')}`).toBe(true);
        seen.add(v[0]!);
        gets++;
      }
    }
    await writing;
    await dpuPuts;
    for (let k = 0; k < keys; k++) expect((await shop.call('kv/get', kvKey(1000 + k), { place: 'dpu' })).bytes[0]).toBe(rounds & 0xff);
    for (let i = 0; i < 200; i++) expect(text((await writer.call('kv/get', kvKey(5000 + i), { place: 'host' })).bytes)).toBe(`p${i}`);
    console.log(`${mode.name}: ${gets} dpu gets during ${keys * rounds} host puts, ${seen.size} distinct values`);
  });

  it('reports the agent\'s UCX transports in /v1/stats', async () => {
    const r = await fetch(`${server.url}/v1/stats`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const s = ((await r.json()) as { rdma: { clients: { pid: number; transports: string[] }[] } }).rdma;
    const all = s.clients.flatMap((c) => c.transports).join(' ');
    expect(all).toMatch(mode.netns ? new RegExp(`tcp/${pair!.vethA}`) : /posix|sysv|cma/);
  });

  it('refuses an agent without the admin token, a second agent, and agent answers on other connections; serving goes on', async () => {
    const d = Buffer.from(JSON.stringify({ address: 'ab'.repeat(40), pid: 1, host: 'x' }));
    expect(await raw(host, server.port, SHOP, Kind.AGENT, d)).toMatchObject({ kind: Kind.ERROR, code: 'E_UNAUTHORIZED' });
    expect(await raw(host, server.port, null, Kind.AGENT, d)).toMatchObject({ kind: Kind.ERROR, code: 'E_UNAUTHORIZED' });
    expect(await raw(host, server.port, 'wrong', Kind.AGENT, d)).toMatchObject({ kind: Kind.ERROR, code: 'E_UNAUTHORIZED' });
    expect(await raw(host, server.port, ADMIN, Kind.AGENT, d)).toMatchObject({ kind: Kind.ERROR, code: 'E_AGENT_ATTACHED' });
    // A tenant cannot answer the dpu place's messages in the agent's stead.
    expect(await raw(host, server.port, SHOP, Kind.REPLY, Buffer.from('forged'))).toMatchObject({ kind: Kind.ERROR, code: 'E_FRAME' });
    // The real agent process refused with a tenant's token: a clear error, it exits.
    const refused = await attach(SHOP);
    expect(refused.out()).toMatch(/E_UNAUTHORIZED/);
    expect(await refused.exited).not.toBe(0);
    expect(text((await shop.call('kv/get', kvKey(2), { place: 'dpu' })).bytes)).toBe('dpu-2');
  });

  it("serves a tenant only its own bundles at the dpu place; the agent runs each with only that bundle's keys", async () => {
    const other = await connect(`roam://${host}:${server.port}`, { token: OTHER });
    try {
      await deployBundle(server.url, OTHER, 'kv2', await tenantKv('other', 'kv2'));
      await other.call('kv2/put', kvKey(2, Buffer.from('other-2')), { place: 'dpu' });
      // Same key, two tables: each bundle reached its own region over UCX.
      expect(text((await other.call('kv2/get', kvKey(2), { place: 'dpu' })).bytes)).toBe('other-2');
      expect(text((await shop.call('kv/get', kvKey(2), { place: 'dpu' })).bytes)).toBe('dpu-2');
      const { id } = await shop.resolve('kv');
      await expect(other.resolve('kv')).rejects.toMatchObject({ code: 'E_NO_BUNDLE' });
      expect(await raw(host, server.port, OTHER, Kind.CALL, new Uint8Array(8), id).then((a) => a.code)).toBe('E_NO_BUNDLE');
    } finally {
      other.close();
    }
  });

  it("runs a bundle deleted and deployed again at the agent on its new table, not the old one", async () => {
    await deployBundle(server.url, OTHER, 'kv3', await tenantKv('other', 'kv3'));
    const other = await connect(`roam://${host}:${server.port}`, { token: OTHER });
    try {
      await other.call('kv3/put', kvKey(9, Buffer.from('old table')), { place: 'dpu' });
      const r = await fetch(`${server.url}/v1/bundles/kv3`, { method: 'DELETE', headers: { authorization: `Bearer ${OTHER}` } });
      expect(r.status).toBe(200);
      await expect(other.call('kv3/get', kvKey(9), { place: 'dpu' })).rejects.toMatchObject({ code: 'E_NO_BUNDLE' });
      await deployBundle(server.url, OTHER, 'kv3', await tenantKv('other', 'kv3'));
      const fresh = await connect(`roam://${host}:${server.port}`, { token: OTHER }); // the old id is cached in `other`
      try {
        await expect(fresh.call('kv3/get', kvKey(9), { place: 'dpu' })).rejects.toThrow(/not found/);
        await fresh.call('kv3/put', kvKey(9, Buffer.from('new table')), { place: 'dpu' });
        expect(text((await fresh.call('kv3/get', kvKey(9), { place: 'host' })).bytes)).toBe('new table');
      } finally {
        fresh.close();
      }
    } finally {
      other.close();
    }
  });

  it('gives every message one reply when the agent is killed mid-load; the host serves on; a new agent takes over', async () => {
    const n = 2000;
    let answered = 0;
    let killed = false;
    const sends = Array.from({ length: n }, (_, i) =>
      shop.call('kv/put', kvKey(20_000 + i, Buffer.from(`d${i}`)), { place: 'dpu' }).finally(() => {
        if (++answered === 100 && !killed) {
          killed = true;
          agent.child.kill('SIGKILL');
        }
      }),
    );
    const res = await Promise.allSettled(sends);
    expect(killed).toBe(true);
    expect(res.length).toBe(n);
    const failed = res.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    for (const f of failed) expect(f.reason.code).toMatch(/^(E_PLACE_LOST|E_PLACE_UNAVAILABLE)$/);
    // At most the window (64) was at the agent; whatever waited at the server was steered again, not lost.
    expect(failed.filter((f) => f.reason.code === 'E_PLACE_LOST').length).toBeLessThanOrEqual(64);
    const got = await Promise.all(res.map((r, i) => (r.status === 'fulfilled' ? writer.call('kv/get', kvKey(20_000 + i), { place: 'host' }) : null)));
    got.forEach((g, i) => g && expect(text(g.bytes)).toBe(`d${i}`));
    // The host serves on; the dpu place is unavailable until a new agent attaches.
    expect(text((await writer.call('kv/get', kvKey(2), { place: 'host' })).bytes)).toBe('dpu-2');
    // (E_PLACE_LOST only if the agent answered everything before the server saw its connection close.)
    await expect(shop.call('kv/get', kvKey(2), { place: 'dpu' })).rejects.toMatchObject({ code: expect.stringMatching(/^E_PLACE_(UNAVAILABLE|LOST)$/) });
    agent = await attach();
    const g = await shop.call('kv/get', kvKey(2), { place: 'dpu' });
    expect([g.place, text(g.bytes)]).toEqual(['dpu', 'dpu-2']);
  });

  it('ends the agent when the server goes away (no hang)', async () => {
    server.child.kill('SIGKILL');
    await server.exited;
    await agent.exited; // the agent leaves once its connection closes
  });
});
