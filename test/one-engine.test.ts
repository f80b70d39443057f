// One engine: one registry behind both front doors (HTTP and the wire protocol) of a real `roam serve`
// (engine/server/serve.ts) on port 0, with real host workers, a real DPU agent process and real sockets.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { serve } from '../engine/server/serve.ts';
import { connect, type Client } from '../engine/client/index.ts';
import { embedManifest, readBundle } from '../engine/bundle/bundle.ts';
import type { Manifest } from '../engine/bundle/manifest.ts';
import { cachedBuild } from '../engine/build/cached-build.ts';
import { key, kvBundle, putMsg, retrying } from './places-helpers.ts';

const ADMIN = 'admin-secret';
const TOKENS = { a: 'token-a', b: 'token-b', q: 'token-q' };
let kv: Uint8Array;
let hello: Uint8Array;
const dirs: string[] = [];

/** A copy of `bytes` with manifest changes (another name, tenant or version). */
function variant(bytes: Uint8Array, change: Partial<Manifest>): Uint8Array {
  const m = readBundle(bytes).manifest;
  return embedManifest(bytes, { ...m, ...change });
}

type Server = Awaited<ReturnType<typeof serve>> & { port: number };
async function start(o: { dpu?: boolean; stateDir?: string; tenants?: object } = {}): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'roam-one-'));
  dirs.push(dir);
  let tenantsFile: string | undefined;
  if (o.tenants) writeFileSync((tenantsFile = join(dir, 'tenants.json')), JSON.stringify({ tenants: o.tenants }));
  const s = await serve({
    port: 0,
    host: '127.0.0.1',
    token: ADMIN,
    threads: 1,
    wire: { workers: 1, dpu: o.dpu ?? false, maxFrame: 1 << 20, inlineUs: 100, nativeIo: true },
    ...(o.stateDir ? { stateDir: o.stateDir } : {}),
    ...(tenantsFile ? { tenantsFile } : {}),
  });
  return { ...s, port: Number(new URL(s.url).port) };
}

async function http(s: Server, method: string, path: string, opts: { body?: Uint8Array | string; token?: string } = {}) {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const r = await request(s.url + path, { method: method as 'GET', headers, ...(opts.body !== undefined ? { body: opts.body } : {}) });
  const text = await r.body.text();
  return { status: r.statusCode, text, json: () => JSON.parse(text) };
}

const deploy = (s: Server, name: string, bytes: Uint8Array, token = ADMIN) => http(s, 'PUT', `/v1/bundles/${name}`, { body: bytes, token });

/** The error code a promise rejects with. */
const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (e: { code?: string }) => e.code);

beforeAll(async () => {
  [kv, hello] = await Promise.all([kvBundle(), cachedBuild('functions/hello')]);
}, 120_000);
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('deploying handlers at runtime', () => {
  let s: Server;
  let c: Client;
  beforeAll(async () => {
    s = await start({ dpu: true });
    c = await connect(s.port, { token: ADMIN, clientPlace: false });
  }, 60_000);
  afterAll(async () => {
    c.close();
    await s.close();
  });

  it('deploys a handler bundle over HTTP and reaches it over the wire at host, dpu and client', async () => {
    const d = await deploy(s, 'kv', kv);
    expect(d.status).toBe(201);
    expect(d.json()).toMatchObject({ name: 'kv', handlers: ['get', 'put', 'del'], functions: [], wireId: expect.any(Number) });
    await retrying(() => c.send('kv/put', putMsg(7, 'seven'), { place: 'host' }));
    expect(Buffer.from(await c.send('kv/get', key(7), { place: 'dpu' })).toString()).toBe('seven');
    const local = await connect(s.port, { token: ADMIN });
    try {
      const r = await local.call('kv/get', key(7), { place: 'client' });
      expect(r.place).toBe('client');
      expect(Buffer.from(r.bytes).toString()).toBe('seven');
    } finally {
      local.close();
    }
  });

  it('a bundle with both handlers and functions serves both from one deploy', async () => {
    expect((await deploy(s, 'hello', hello)).status).toBe(201);
    const fn = await http(s, 'GET', '/fn/greet/ann', { token: ADMIN });
    expect(fn.status).toBe(200);
    expect(fn.json()).toMatchObject({ greeting: 'hello, ann' });
    expect((await c.send('hello/hello', Buffer.from('wire'))).length).toBeGreaterThan(0);
    const ls = (await http(s, 'GET', '/v1/bundles', { token: ADMIN })).json() as { bundles: Array<{ name: string; handlers: string[]; functions: string[]; places: string[] }> };
    expect(ls.bundles.find((b) => b.name === 'hello')).toMatchObject({ handlers: ['hello'], functions: ['greet'], places: expect.arrayContaining(['host', 'dpu']) });
  });

  it('deploys a message-handler component over HTTP and reaches it over the wire', async () => {
    const { watToComponent } = await import('../engine/build/wat-component.ts');
    const { embedComponentManifest } = await import('../engine/components/index.ts');
    const { validateManifest } = await import('../engine/bundle/manifest.ts');
    const wasm = await watToComponent(join(import.meta.dirname, 'fixtures/components/counter.wat'), 'message');
    const manifest = validateManifest({ name: 'ccount', version: '1.0.0', regions: [{ name: 'hits', size: 64 }], handlers: [{ name: 'add', type: 1, regions: ['hits'] }], capabilities: ['log', 'regions'], limits: { memoryPages: 4, fuel: 1_000_000 } });
    const d = await deploy(s, 'ccount', embedComponentManifest(wasm, manifest));
    expect(d.status, d.text).toBe(201);
    expect(d.json()).toMatchObject({ handlers: ['add'], wireId: expect.any(Number) });
    const add = (n: number) => c.send('ccount/add', new Uint8Array(new Uint32Array([n]).buffer));
    await add(3);
    const r = await add(4);
    expect(new DataView(r.buffer, r.byteOffset).getUint32(0, true)).toBe(7);
    expect((await http(s, 'DELETE', '/v1/bundles/ccount', { token: ADMIN })).status).toBe(200);
    expect(await codeOf(add(1))).toBe('E_NO_BUNDLE');
  }, 120_000);

  it('deletes a bundle and the wire answers E_NO_BUNDLE (HTTP 404), at every place', async () => {
    expect((await deploy(s, 'gone', variant(kv, { name: 'gone' }))).status).toBe(201);
    await retrying(() => c.send('gone/put', putMsg(1, 'x')));
    const { id } = await c.resolve('gone');
    expect((await http(s, 'DELETE', '/v1/bundles/gone', { token: ADMIN })).status).toBe(200);
    for (const place of ['host', 'dpu', 'auto'] as const) expect(await codeOf(c.sendRaw(id, 1, key(1), place))).toBe('E_NO_BUNDLE');
    expect(await codeOf(c.send('gone/get', key(1)))).toBe('E_NO_BUNDLE');
    expect((await http(s, 'GET', '/v1/bundles/gone', { token: ADMIN })).status).toBe(404);
  });

  it('redeploys under mixed wire and HTTP load with every message and request answered exactly once', async () => {
    expect((await deploy(s, 'hello', hello)).status).toBe(201);
    const before = ((await c.stats()) as { stats: { calls: number } }).stats.calls;
    const wire: Array<Promise<string>> = [];
    const web: Array<Promise<number>> = [];
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 200; i++) wire.push(c.send('hello/hello', Buffer.from(`m${round}.${i}`)).then(() => 'ok', (e: Error) => e.message));
      for (let i = 0; i < 20; i++) web.push(http(s, 'GET', `/fn/greet/r${round}`, { token: ADMIN }).then((r) => r.status));
      // A new version swaps in while these are in flight.
      expect((await deploy(s, 'hello', variant(hello, { version: `2.0.${round}` }))).status).toBe(201);
    }
    const answers = await Promise.all(wire);
    expect(answers.filter((a) => a !== 'ok')).toEqual([]);
    expect((await Promise.all(web)).filter((st) => st !== 200)).toEqual([]);
    // Exactly one reply per message: the server routed each once.
    const after = ((await c.stats()) as { stats: { calls: number } }).stats.calls;
    expect(after - before).toBe(800);
    expect((await http(s, 'GET', '/v1/bundles/hello', { token: ADMIN })).json()).toMatchObject({ version: '2.0.3' });
  });
});

describe('tenants and tokens on both doors', () => {
  let s: Server;
  beforeAll(async () => {
    s = await start({ tenants: { a: { token: TOKENS.a }, b: { token: TOKENS.b }, q: { token: TOKENS.q, maxMemoryMiB: 2.5 } } });
  }, 60_000);
  afterAll(() => s.close());

  it('refuses a wire connection without a token, or with a wrong one, when tokens are set', async () => {
    const anon = await connect(s.port, { clientPlace: false });
    expect(await codeOf(anon.resolve('kv'))).toBe('E_UNAUTHORIZED');
    anon.close();
    expect(await codeOf(connect(s.port, { token: 'nope', clientPlace: false }))).toBe('E_UNAUTHORIZED');
    const admin = await connect(s.port, { token: ADMIN, clientPlace: false });
    expect(await admin.authenticate(ADMIN)).toBeNull();
    admin.close();
  });

  it('tenant B cannot read A\'s regions, handlers, bundle bytes or chains over either protocol', async () => {
    expect((await deploy(s, 'akv', variant(kv, { name: 'akv', tenant: 'a' }), TOKENS.a)).status).toBe(201);
    const a = await connect(s.port, { token: TOKENS.a, clientPlace: false });
    const b = await connect(s.port, { token: TOKENS.b, clientPlace: false });
    try {
      await retrying(() => a.send('akv/put', putMsg(3, 'secret-of-a')));
      const { id } = await a.resolve('akv');
      // Over the wire: resolve, call, region read/write, bundle bytes — all as if there were no such bundle.
      expect(await codeOf(b.resolve('akv'))).toBe('E_NO_BUNDLE');
      expect(await codeOf(b.sendRaw(id, 1, key(3)))).toBe('E_NO_BUNDLE');
      const raw = b as unknown as { request(kind: number, bundle: number, code: number, place: number, p: Uint8Array): Promise<unknown> };
      for (const kind of [5, 6, 7, 8]) expect(await codeOf(raw.request(kind, id, 0, 0, Buffer.alloc(24)))).toBe('E_NO_BUNDLE');
      // Over HTTP: the bundle, its chain.
      expect((await http(s, 'GET', '/v1/bundles/akv', { token: TOKENS.b })).status).toBe(403);
      expect((await http(s, 'DELETE', '/v1/bundles/akv', { token: TOKENS.b })).status).toBe(403);
      expect((await http(s, 'GET', '/v1/bundles', { token: TOKENS.b })).json()).toEqual({ bundles: [] });
      expect((await http(s, 'PUT', '/v1/chains/shop', { body: JSON.stringify({ steps: ['nothing'] }), token: TOKENS.a })).status).toBe(201);
      expect((await http(s, 'PUT', '/v1/chains/shop', { body: JSON.stringify({ steps: ['other'] }), token: TOKENS.b })).status).toBe(403);
      expect((await http(s, 'DELETE', '/v1/chains/shop', { token: TOKENS.b })).status).toBe(404);
      expect((await http(s, 'GET', '/v1/chains', { token: TOKENS.b })).json()).toEqual({ chains: {} });
      expect((await http(s, 'GET', '/v1/chains/shop', { token: TOKENS.a })).json()).toMatchObject({ steps: ['nothing'] });
      // A's own connection still reads its value.
      expect(Buffer.from(await a.send('akv/get', key(3))).toString()).toBe('secret-of-a');
    } finally {
      a.close();
      b.close();
    }
  });

  it('region memory counts against the tenant quota and is freed on delete', async () => {
    // kv: a 1 MiB region + 16 pages of linear memory on one worker = 2 MiB of q's 2.5 MiB.
    const q = (name: string) => variant(kv, { name, tenant: 'q' });
    expect((await deploy(s, 'q1', q('q1'), TOKENS.q)).status).toBe(201);
    const second = await deploy(s, 'q2', q('q2'), TOKENS.q);
    expect(second.status).toBe(403);
    expect(second.json()).toMatchObject({ error: 'E_QUOTA', message: expect.stringMatching(/regions\), over its cap of 2.5 MiB/) });
    expect((await http(s, 'GET', '/v1/stats', { token: TOKENS.q })).json().regions.bytes).toBe(1 << 20);
    expect((await http(s, 'DELETE', '/v1/bundles/q1', { token: TOKENS.q })).status).toBe(200);
    expect((await http(s, 'GET', '/v1/stats', { token: TOKENS.q })).json().regions.bytes).toBe(0);
    expect((await deploy(s, 'q2', q('q2'), TOKENS.q)).status).toBe(201);
  });

  it('a bundle deleted by one tenant leaves nothing for the next bundle of that name (regions keyed by owner)', async () => {
    expect((await deploy(s, 'rw', variant(kv, { name: 'rw', tenant: 'a' }), TOKENS.a)).status).toBe(201);
    const a = await connect(s.port, { token: TOKENS.a, clientPlace: false });
    await retrying(() => a.send('rw/put', putMsg(9, 'a-secret')));
    a.close();
    expect((await http(s, 'DELETE', '/v1/bundles/rw', { token: TOKENS.a })).status).toBe(200);
    expect((await deploy(s, 'rw', variant(kv, { name: 'rw', tenant: 'b' }), TOKENS.b)).status).toBe(201);
    const b = await connect(s.port, { token: TOKENS.b, clientPlace: false });
    try {
      await expect(b.send('rw/get', key(9))).rejects.toThrow(/not found/);
    } finally {
      b.close();
    }
  });
});

describe('--state', () => {
  it('restores handlers and functions from --state', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'roam-state-'));
    dirs.push(stateDir);
    const first = await start({ stateDir });
    expect((await deploy(first, 'kv', kv)).status).toBe(201);
    expect((await deploy(first, 'hello', hello)).status).toBe(201);
    await first.close();
    const again = await start({ stateDir });
    try {
      const c = await connect(again.port, { token: ADMIN, clientPlace: false });
      await retrying(() => c.send('kv/put', putMsg(5, 'back')));
      expect(Buffer.from(await c.send('kv/get', key(5))).toString()).toBe('back');
      expect((await c.send('hello/hello', Buffer.from('x'))).length).toBeGreaterThan(0);
      c.close();
      expect((await http(again, 'GET', '/fn/greet/bo', { token: ADMIN })).json()).toMatchObject({ greeting: 'hello, bo' });
    } finally {
      await again.close();
    }
  }, 60_000);
});
