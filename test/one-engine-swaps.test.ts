// Version swaps that reach past the server's own places (issue 13): a redeploy reaches handlers running at
// the client place (BUNDLE_CHANGED), and a handler component that fails to start leaves the old version
// both stored and served. Real `serve()` servers, real sockets, a real client-place worker.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { serve } from '../engine/server/serve.ts';
import { connect, type BundleChange, type Client } from '../engine/client/index.ts';
import { buildTsProject } from '../engine/build/build-ts.ts';
import { tsProject } from './jsguest-helpers.ts';
import { embedManifest, readBundle } from '../engine/bundle/bundle.ts';
import type { Manifest } from '../engine/bundle/manifest.ts';

const ADMIN = 'admin-secret';
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Server = Awaited<ReturnType<typeof serve>>;
async function start(stateDir?: string, tenantsFile?: string): Promise<Server> {
  return serve({ port: 0, host: '127.0.0.1', token: ADMIN, threads: 1, wire: { workers: 1, dpu: false, maxFrame: 1 << 20, inlineUs: 100, nativeIo: true }, ...(stateDir ? { stateDir } : {}), ...(tenantsFile ? { tenantsFile } : {}) });
}
const portOf = (s: Server) => Number(new URL(s.url).port);

async function http(s: Server, method: string, path: string, body?: Uint8Array) {
  const r = await request(s.url + path, { method: method as 'GET', headers: { authorization: `Bearer ${ADMIN}` }, ...(body ? { body } : {}) });
  const text = await r.body.text();
  return { status: r.statusCode, text };
}

/** The next notice for bundle `name` on client `c`. */
function nextChange(c: Client, name: string): Promise<BundleChange> {
  return new Promise((resolve) => {
    const off = c.onBundleChange((ch) => {
      if (ch.name !== name) return;
      off();
      resolve(ch);
    });
  });
}

describe('a redeploy reaches the client place', () => {
  let s: Server;
  let c: Client;
  let v1: Uint8Array, v2: Uint8Array;
  beforeAll(async () => {
    // The same handler, whose reply names the version it runs in.
    const build = (v: string) => {
      const dir = tsProject({ name: 'swap', version: v, handlers: [{ name: 'who', type: 1 }] }, `import { handler } from "roam/guest";\nexport const who = handler(() => "${v}");\n`);
      dirs.push(dir);
      return buildTsProject(dir, { check: false }).then((r) => r.bytes);
    };
    [v1, v2] = await Promise.all([build('1.0.0'), build('2.0.0')]);
    s = await start();
    c = await connect(portOf(s), { token: ADMIN });
  }, 180_000);
  afterAll(async () => {
    c?.close();
    await s?.close();
  });

  it('answers from the new version once the client is told, loses no message, and stops a deleted bundle', async () => {
    expect((await http(s, 'PUT', '/v1/bundles/swap', v1)).status).toBe(201);
    const who = () => c.call('swap/who', new Uint8Array(0), { place: 'client' }).then((r) => Buffer.from(r.bytes).toString());
    expect(await who()).toBe('1.0.0');

    // Four loops keep the client place busy across the redeploy; each call notes whether the client had
    // been told of the new version when it was sent.
    let told = false;
    const sent = { before: 0, after: 0 };
    const answers: Array<{ told: boolean; version: string }> = [];
    const afterWanted = 40;
    const loop = async () => {
      while (sent.after < afterWanted) {
        const t = told;
        sent[t ? 'after' : 'before']++;
        answers.push({ told: t, version: await who() });
      }
    };
    const changed = nextChange(c, 'swap');
    const loops = [loop(), loop(), loop(), loop()];
    expect((await http(s, 'PUT', '/v1/bundles/swap', v2)).status).toBe(201);
    const notice = await changed;
    told = true;
    expect(notice).toMatchObject({ name: 'swap', version: '2.0.0', removed: false });
    await Promise.all(loops);

    expect(answers.length).toBe(sent.before + sent.after); // every call answered, none failed or lost
    expect(answers.filter((a) => a.told && a.version !== '2.0.0')).toEqual([]);
    expect(answers.filter((a) => a.told).length).toBeGreaterThanOrEqual(afterWanted);
    expect(answers.some((a) => !a.told && a.version === '1.0.0')).toBe(true);

    // Deleted at the server: the client place stops running it.
    const gone = nextChange(c, 'swap');
    expect((await http(s, 'DELETE', '/v1/bundles/swap')).status).toBe(200);
    expect(await gone).toMatchObject({ removed: true });
    await expect(who()).rejects.toMatchObject({ code: 'E_NO_BUNDLE' });
    // Deployed again, it is found again (a new wire id) and runs at the client place.
    expect((await http(s, 'PUT', '/v1/bundles/swap', v1)).status).toBe(201);
    expect(await who()).toBe('1.0.0');
  }, 120_000);
});

describe('version notices and tenants', () => {
  it('tells only connections that resolved the bundle; a version moved to another tenant reads as removed to the old one', async () => {
    const dir = tsProject({ name: 'tn', handlers: [{ name: 'who', type: 1 }] }, 'import { handler } from "roam/guest";\nexport const who = handler(() => "x");\n');
    dirs.push(dir);
    const bytes = (await buildTsProject(dir, { check: false })).bytes;
    const as = (change: Partial<Manifest>) => embedManifest(bytes, { ...readBundle(bytes).manifest, ...change });
    const tenantsFile = join(dir, 'tenants.json');
    writeFileSync(tenantsFile, JSON.stringify({ tenants: { a: { token: 'tok-a' }, b: { token: 'tok-b' } } }));
    const s = await start(undefined, tenantsFile);
    const a = await connect(portOf(s), { token: 'tok-a', clientPlace: false });
    const b = await connect(portOf(s), { token: 'tok-b', clientPlace: false });
    try {
      expect((await http(s, 'PUT', '/v1/bundles/tn', as({ tenant: 'a', version: '1.0.0' }))).status).toBe(201);
      expect(Buffer.from(await a.send('tn/who', new Uint8Array(0))).toString()).toBe('x');
      await expect(b.resolve('tn')).rejects.toMatchObject({ code: 'E_NO_BUNDLE' });
      const seenByB: BundleChange[] = [];
      b.onBundleChange((c) => seenByB.push(c));

      const toA = nextChange(a, 'tn');
      expect((await http(s, 'PUT', '/v1/bundles/tn', as({ tenant: 'a', version: '1.1.0' }))).status).toBe(201);
      expect(await toA).toMatchObject({ version: '1.1.0', removed: false });
      // The notice is written at the swap, before any later reply on a connection: b's next reply proves it got none.
      await b.stats();
      expect(seenByB).toEqual([]);

      const moved = nextChange(a, 'tn');
      expect((await http(s, 'PUT', '/v1/bundles/tn', as({ tenant: 'b', version: '9.9.9' }))).status).toBe(201);
      expect(await moved).toEqual({ id: expect.any(Number), name: 'tn', version: '', removed: true });
      await expect(a.send('tn/who', new Uint8Array(0))).rejects.toMatchObject({ code: 'E_NO_BUNDLE' });
      expect(Buffer.from(await b.send('tn/who', new Uint8Array(0))).toString()).toBe('x');
    } finally {
      a.close();
      b.close();
      await s.close();
    }
  }, 120_000);
});

describe('a handler component that fails at start', () => {
  it('leaves the old version stored and served (before and after a restart), with a clear error', async () => {
    const { watToComponent } = await import('../engine/build/wat-component.ts');
    const { embedComponentManifest } = await import('../engine/components/index.ts');
    const { validateManifest } = await import('../engine/bundle/manifest.ts');
    const manifest = (version: string) => validateManifest({ name: 'cstart', version, regions: [{ name: 'hits', size: 64 }], handlers: [{ name: 'add', type: 1, regions: ['hits'] }], capabilities: ['log', 'regions'], limits: { memoryPages: 4, fuel: 1_000_000 } });
    const good = embedComponentManifest(await watToComponent(join(import.meta.dirname, 'fixtures/components/counter.wat'), 'message'), manifest('1.0.0'));
    const bad = embedComponentManifest(await watToComponent(join(import.meta.dirname, 'fixtures/components/fails-at-start.wat'), 'message'), manifest('2.0.0'));
    const stateDir = mkdtempSync(join(tmpdir(), 'roam-swap-state-'));
    dirs.push(stateDir);
    const add = (c: Client, n: number) => c.send('cstart/add', new Uint8Array(new Uint32Array([n]).buffer)).then((r) => new DataView(r.buffer, r.byteOffset).getUint32(0, true));

    let s = await start(stateDir);
    try {
      expect((await http(s, 'PUT', '/v1/bundles/cstart', good)).status).toBe(201);
      const c = await connect(portOf(s), { token: ADMIN, clientPlace: false });
      expect(await add(c, 3)).toBe(3);
      const r = await http(s, 'PUT', '/v1/bundles/cstart', bad);
      expect(r.status).not.toBe(201);
      expect(r.text).toMatch(/failed to instantiate/);
      expect(await add(c, 4)).toBe(7); // the old version serves, its state untouched
      expect(JSON.parse((await http(s, 'GET', '/v1/bundles/cstart')).text)).toMatchObject({ version: '1.0.0' });
      c.close();
    } finally {
      await s.close();
    }
    s = await start(stateDir);
    try {
      expect(JSON.parse((await http(s, 'GET', '/v1/bundles/cstart')).text)).toMatchObject({ version: '1.0.0' });
      const c = await connect(portOf(s), { token: ADMIN, clientPlace: false });
      expect(await add(c, 5)).toBe(5); // restored from the stored (old) file; regions start from zeros
      c.close();
    } finally {
      await s.close();
    }
  }, 180_000);
});
