// `roam serve --rdma` and `connect(url, { rdma: true })` end to end: a real server process (its regions
// allocated and registered by UCX), the kv bundle at the client place reaching its table over UCX while
// a host-side writer rewrites the same keys; tenants, deletion (keys revoked) and the server's death.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rdmaAvailable } from '../engine/rdma/worker.ts';
import { connect, type Client } from '../engine/client/index.ts';
import { serve } from '../engine/server/serve.ts';
import { FrameDecoder } from '../engine/wire/decoder.ts';
import { Kind, encodeFrame, parseError } from '../engine/wire/frame.ts';
import { embedManifest, readBundle } from '../engine/bundle/bundle.ts';
import { bundleOf, ROOT } from './helpers/build.ts';
import { kvKey } from './helpers/rdma-kv.ts';

const why = rdmaAvailable() ? '' : 'the roam_ucx addon is not built (install libucx-dev, then npm run build:native)';
if (why && process.env.CI === 'true') throw new Error(`CI must run the rdma tests: ${why}`);

const ADMIN = 'rdma-admin';
const SHOP = 'shop-token';
const OTHER = 'other-token';
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const value = (round: number) => new Uint8Array(48).fill(round & 0xff);
/** The kv bundle owned by tenant shop. */
async function shopKv(): Promise<Uint8Array> {
  const b = readBundle(await bundleOf('functions/kv'));
  return embedManifest(b.bytes, { ...b.manifest, tenant: 'shop' });
}

async function deploy(url: string, token: string, name: string, bytes: Uint8Array): Promise<void> {
  const r = await fetch(`${url}/v1/bundles/${name}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: Buffer.from(bytes) });
  expect(r.status, await r.text()).toBe(201);
}

/** One AUTH then one RDMA_INFO frame on a raw connection: the second answer (reply payload or error). */
async function rawRdmaInfo(port: number, token: string, bundle: number, address = 'ab'.repeat(40)): Promise<{ ok: boolean; text: string; code?: string }> {
  const s = net.connect(port, '127.0.0.1');
  const answers: { kind: number; payload: Uint8Array }[] = [];
  const done = new Promise<void>((resolve, reject) => {
    const d = new FrameDecoder(1 << 20, {
      frame: (f) => {
        answers.push({ kind: f.kind, payload: f.payload.slice() });
        if (answers.length === 2) resolve();
      },
      oversize: () => reject(new Error('oversize')),
      corrupt: (r) => reject(new Error(r)),
    });
    s.on('data', (c: Buffer) => d.push(c));
    s.on('error', reject);
    s.on('close', () => reject(new Error(`closed after ${answers.length} answers`)));
  });
  const f = { place: 0, flags: 0, code: 0 };
  s.write(encodeFrame({ ...f, kind: Kind.AUTH, id: 1, bundle: 0 }, Buffer.from(token)));
  s.write(encodeFrame({ ...f, kind: Kind.RDMA_INFO, id: 2, bundle }, Buffer.from(JSON.stringify({ address, pid: process.pid, host: 'nowhere' }))));
  await done;
  s.destroy();
  const a = answers[1]!;
  if (a.kind === Kind.ERROR) return { ok: false, text: parseError(a.payload).message, code: parseError(a.payload).code };
  return { ok: true, text: text(a.payload) };
}

// UCX's default transports (shared memory here: one-sided `rma`) and TCP (owner-answered `am`).
for (const tls of [undefined, 'tcp'] as const) describe.skipIf(!!why).sequential(`roam serve --rdma with connect(…, { rdma: true }), ${tls ?? 'default transports'}`, () => {
  const mode = tls === 'tcp' ? 'am' : 'rma';
  const saved = process.env.UCX_TLS;
  let server: ChildProcess;
  let url = '', port = 0, out = '', err = '';
  let reader: Client, writer: Client;
  let exited: Promise<number | null>;

  beforeAll(async () => {
    if (tls) process.env.UCX_TLS = tls; // the server child and this process's client-place threads
    const dir = mkdtempSync(join(tmpdir(), 'roam-rdma-serve-'));
    const tenants = join(dir, 'tenants.json');
    writeFileSync(tenants, JSON.stringify({ tenants: { shop: { weight: 1, token: SHOP }, other: { weight: 1, token: OTHER } } }));
    server = spawn(process.execPath, [join(ROOT, 'bin/roam.js'), 'serve', '--rdma', '--port', '0', '--workers', '1', '--tenants', tenants], {
      env: { ...process.env, ROAM_TOKEN: ADMIN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exited = new Promise((r) => server.on('exit', (code) => r(code)));
    server.stderr!.on('data', (c) => (err += c));
    url = await new Promise<string>((resolve, reject) => {
      server.stdout!.on('data', (c) => {
        out += c;
        const m = /serving on (http:\/\/[^\s"]+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      server.on('exit', (code) => reject(new Error(`roam serve exited with ${code}: ${err}`)));
    });
    port = Number(new URL(url).port);
    await deploy(url, SHOP, 'kv', await shopKv());
    reader = await connect(port, { token: SHOP, rdma: true });
    writer = await connect(port, { token: SHOP });
  }, 120_000);

  afterAll(() => {
    if (saved === undefined) delete process.env.UCX_TLS;
    else process.env.UCX_TLS = saved;
    reader?.close();
    writer?.close();
    if (server && server.exitCode === null) server.kill('SIGKILL');
    if (err.trim()) console.log(`roam serve stderr:\n${err.slice(-3000)}`);
  });

  it('prints the UCX transports it offers at start', () => {
    expect(out).toMatch(/"msg":"rdma: UCX \d+\.\d+\.\d+, transports .*(posix|sysv|tcp)/); // a JSON log line (stdout is a pipe)
  });

  it('runs client-place kv puts and gets over UCX, the host seeing the same table', async () => {
    for (let k = 1; k <= 50; k++) await reader.call('kv/put', kvKey(k, Buffer.from(`client-${k}`)), { place: 'client' });
    expect(reader.regionPath.path, reader.regionPath.reason).toBe('ucx');
    expect(reader.regionPath.reason).toMatch(new RegExp(`UCX ${mode} over .*${tls ?? '(posix|sysv)'}`));
    for (let k = 1; k <= 50; k++) expect(text((await writer.call('kv/get', kvKey(k), { place: 'host' })).bytes)).toBe(`client-${k}`);
    await writer.call('kv/put', kvKey(77, Buffer.from('from-host')), { place: 'host' });
    expect(text((await reader.call('kv/get', kvKey(77), { place: 'client' })).bytes)).toBe('from-host');
    await reader.call('kv/del', kvKey(1), { place: 'client' });
    await expect(writer.call('kv/get', kvKey(1), { place: 'host' })).rejects.toThrow(/not found/);
    const r = reader.localPlace!;
    expect(r.regionPath.path).toBe('ucx');
  });

  it('never returns a torn value while the host rewrites the same keys', async () => {
    // The host keeps rewriting until the client place has read 300 values meanwhile.
    const keys = 4, target = 300;
    let writing = true, rounds = 0, gets = 0, busy = 0, missing = 0;
    const w = (async () => {
      while (gets < target) {
        const round = ++rounds;
        await Promise.all(Array.from({ length: keys }, (_, k) => writer.call('kv/put', kvKey(1000 + k, value(round)), { place: 'host' })));
      }
      writing = false;
    })();
    const seen = new Set<number>();
    while (writing) {
      for (let k = 0; k < keys; k++) {
        try {
          const v = (await reader.call('kv/get', kvKey(1000 + k), { place: 'client' })).bytes;
          expect(v.length).toBe(48);
          expect(v.every((b) => b === v[0]), `torn value ${Buffer.from(v).toString('hex')}`).toBe(true);
          seen.add(v[0]!);
          gets++;
        } catch (e) {
          if (/busy/.test(String(e))) busy++;
          else if (/not found/.test(String(e))) missing++;
          else throw e;
        }
      }
    }
    await w;
    expect(gets).toBeGreaterThanOrEqual(target);
    for (let k = 0; k < keys; k++) expect((await reader.call('kv/get', kvKey(1000 + k), { place: 'client' })).bytes[0]).toBe(rounds & 0xff);
    expect(reader.regionPath.path).toBe('ucx');
    console.log(`${mode}: ${gets} client-place gets over UCX during ${keys * rounds} host puts: ${seen.size} distinct values, ${busy} busy, ${missing} before the first put`);
  });

  it('reports the transports in use in the STATS frame', async () => {
    const s = (await writer.stats()) as { rdma: { transports: string[]; clients: { pid: number; transports: string[] }[]; regions: number } };
    expect(s.rdma.transports.length).toBeGreaterThan(0);
    expect(s.rdma.regions).toBeGreaterThanOrEqual(1);
    const mine = s.rdma.clients.find((c) => c.pid === process.pid);
    expect(mine?.transports.length).toBeGreaterThan(0);
  });

  it('reports the transports in use in /v1/stats: every peer to the admin, only what UCX offers to a tenant', async () => {
    const get = async (token: string) => {
      const r = await fetch(`${url}/v1/stats`, { headers: { authorization: `Bearer ${token}` } });
      expect(r.status).toBe(200);
      return ((await r.json()) as { rdma: { ucx: string; transports: string[]; clients?: { pid: number; transports: string[] }[] } }).rdma;
    };
    const admin = await get(ADMIN);
    expect(admin.ucx).toMatch(/UCX \d+\.\d+\.\d+/);
    expect(admin.transports.join(' ')).toMatch(tls === 'tcp' ? /tcp/ : /posix|sysv/);
    const mine = admin.clients!.find((c) => c.pid === process.pid);
    expect(mine?.transports.join(' ')).toMatch(tls === 'tcp' ? /tcp/ : /posix|sysv|cma/);
    const tenant = await get(SHOP);
    expect(tenant).toEqual({ ucx: admin.ucx, transports: admin.transports });
    const none = await fetch(`${url}/v1/stats`);
    expect(none.status).toBe(401);
  });

  it("gives no keys for another tenant's bundle (E_NO_BUNDLE), and keys for the tenant's own", async () => {
    const { id } = await reader.resolve('kv');
    const other = await rawRdmaInfo(port, OTHER, id);
    expect(other).toMatchObject({ ok: false, code: 'E_NO_BUNDLE' });
    // The tenant's own bundle, but addresses that are not UCX worker addresses: refused, the server serves on.
    for (const address of ['ab', 'ab'.repeat(40), '{}']) expect(await rawRdmaInfo(port, SHOP, id, address)).toMatchObject({ ok: false, code: expect.stringMatching(/^E_RDMA_ADDRESS$|^E_FRAME$/) });
    const s = (await writer.stats()) as { rdma: unknown };
    expect(s.rdma).not.toBeNull(); // the server kept serving
  });

  it("stops a deleted bundle's keys: a clear error, then the bundle is gone", async () => {
    const before = ((await writer.stats()) as { rdma: { revoked: number } }).rdma.revoked;
    const told = new Promise<void>((res) => {
      const off = reader.onBundleChange((c) => {
        if (c.name !== 'kv' || !c.removed) return;
        off();
        res();
      });
    });
    const r = await fetch(`${url}/v1/bundles/kv`, { method: 'DELETE', headers: { authorization: `Bearer ${SHOP}` } });
    expect(r.status).toBe(200);
    // The server counts a revocation once every client acknowledged it (or 2 s passed): then ours knows.
    while (((await writer.stats()) as { rdma: { revoked: number } }).rdma.revoked === before) await new Promise((res) => setImmediate(res));
    // The wire's BUNDLE_CHANGED notice also reached the client, which dropped the bundle and its keys: the
    // client place stops it at once with E_NO_BUNDLE (a client that missed the notice gets E_RDMA_REVOKED
    // from the revoked keys instead; engine/rdma/README.md).
    await told;
    await expect(reader.call('kv/get', kvKey(77), { place: 'client' })).rejects.toMatchObject({ code: 'E_NO_BUNDLE' });
    // Deployed again: fresh keys, a fresh (empty) table over UCX.
    await deploy(url, SHOP, 'kv', await shopKv());
    await expect(reader.call('kv/get', kvKey(77), { place: 'client' })).rejects.toThrow(/not found/);
    await reader.call('kv/put', kvKey(78, Buffer.from('again')), { place: 'client' });
    const fresh = await connect(port, { token: SHOP }); // the writer's cached id is the deleted bundle's
    expect(text((await fresh.call('kv/get', kvKey(78), { place: 'host' })).bytes)).toBe('again');
    fresh.close();
    expect(reader.regionPath.path).toBe('ucx');
  });

  it('fails client-place calls with a clear error, no hang, once the server is killed', async () => {
    await reader.call('kv/put', kvKey(5, Buffer.from('before')), { place: 'client' });
    server.kill('SIGKILL');
    await exited;
    // One-sided shared-memory reads complete in place (README: Mapping); the client learns of the death
    // at its worker's next event-loop turn, so a call or two may still read the last memory.
    let error: { code?: string } | undefined;
    for (let i = 0; i < 20 && !error; i++) {
      try {
        expect(text((await reader.call('kv/get', kvKey(5), { place: 'client' })).bytes)).toBe('before');
      } catch (e) {
        error = e as { code?: string };
      }
    }
    expect(error?.code).toMatch(/^(E_RDMA_PEER|E_DISCONNECTED)$/);
    await expect(reader.call('kv/get', kvKey(5), { place: 'client' })).rejects.toMatchObject({ code: expect.stringMatching(/^(E_RDMA_PEER|E_DISCONNECTED)$/) });
  });
});

describe('connect(…, { rdma: true }) against a server without --rdma', () => {
  let s: Awaited<ReturnType<typeof serve>>;
  let port = 0;
  beforeAll(async () => {
    s = await serve({ port: 0, host: '127.0.0.1', token: null, wire: { workers: 1, dpu: false, maxFrame: 1 << 20, inlineUs: 100, nativeIo: true } });
    port = Number(new URL(s.url).port);
    await s.gateway.registry.deploy(null, await bundleOf('functions/kv'), null, false);
  }, 60_000);
  afterAll(() => s?.close());

  it('uses the wire protocol and says why', async () => {
    const c = await connect(port, { rdma: true });
    try {
      await c.call('kv/put', kvKey(3, Buffer.from('over the wire')), { place: 'client' });
      expect(text((await c.call('kv/get', kvKey(3), { place: 'client' })).bytes)).toBe('over the wire');
      expect(c.regionPath.path).toBe('wire');
      expect(c.regionPath.reason).toMatch(why ? /no UCX at the client/ : /E_NO_RDMA/);
      expect(text((await c.call('kv/get', kvKey(3), { place: 'host' })).bytes)).toBe('over the wire');
    } finally {
      c.close();
    }
  });

  // Regression: host workers kept a deleted bundle's region memory cached by name, so the bundle deployed
  // again ran at the host on the old table while clients saw the new one.
  it('runs a bundle deleted and deployed again at the host on its new table', async () => {
    const c = await connect(port);
    await c.call('kv/put', kvKey(9, Buffer.from('old table')), { place: 'host' }); // the host binds the table
    c.close();
    s.gateway.registry.remove('kv', null);
    await s.gateway.registry.deploy(null, await bundleOf('functions/kv'), null, false);
    const fresh = await connect(port);
    try {
      await expect(fresh.call('kv/get', kvKey(9), { place: 'host' })).rejects.toThrow(/not found/);
      await fresh.call('kv/put', kvKey(4, Buffer.from('new table')), { place: 'client' });
      expect(text((await fresh.call('kv/get', kvKey(4), { place: 'host' })).bytes)).toBe('new table');
    } finally {
      fresh.close();
    }
  });
});

describe.skipIf(!!why)('roam serve --rdma --dpu (regions in POSIX shm, registered with UCX)', () => {
  it('serves client-place kv over UCX on the DPU agent\'s shm regions, the agent seeing the same table', async () => {
    const s = await serve({ port: 0, host: '127.0.0.1', token: null, wire: { workers: 1, dpu: true, maxFrame: 1 << 20, inlineUs: 100, nativeIo: true, rdma: true } });
    const port = Number(new URL(s.url).port);
    const c = await connect(port, { rdma: true });
    try {
      await s.gateway.registry.deploy(null, await bundleOf('functions/kv'), null, false);
      await c.call('kv/put', kvKey(11, Buffer.from('via shm')), { place: 'client' });
      expect(c.regionPath.path, c.regionPath.reason).toBe('ucx');
      expect(c.regionPath.reason).toMatch(/UCX am/); // registered (not UCX-allocated) memory: the owner's addon answers
      expect(text((await c.call('kv/get', kvKey(11), { place: 'dpu' })).bytes)).toBe('via shm');
      await c.call('kv/put', kvKey(12, Buffer.from('from the agent')), { place: 'dpu' });
      expect(text((await c.call('kv/get', kvKey(12), { place: 'client' })).bytes)).toBe('from the agent');
    } finally {
      c.close();
      await s.close();
    }
  }, 60_000);
});
