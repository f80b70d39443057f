// Persistence across restarts of a real `roam serve` process, including a kill -9 in the middle of a deploy.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { Readable } from 'node:stream';
import { contentHash } from '../engine/bundle/bundle.ts';
import { buildFixture, ROOT, variant } from './http-fixtures.ts';

const TOKEN = 'persist-secret';
const auth = { authorization: `Bearer ${TOKEN}` };
let dir: string;
let v1: Uint8Array;
let v2: Uint8Array;
const children: ChildProcess[] = [];

/** Starts `roam serve` on port 0 and resolves with its URL once it prints it. */
function startServer(stateDir = dir): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/roam.js'), 'serve', '--port', '0', '--token', TOKEN, '--state', stateDir, '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /serving on (http:\/\/[^\s"]+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.stderr!.on('data', (c) => (err += c));
    child.on('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
  });
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

const version = async (url: string) => {
  const r = await request(`${url}/v1/bundles/fnkit`, { headers: auth });
  return ((await r.body.json()) as { version: string }).version;
};
const echo = async (url: string) => (await (await request(`${url}/fn/echo/`, { method: 'POST', body: 'hi' })).body.text());

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'roam-state-'));
  v1 = await buildFixture('test/fixtures/fnkit');
  v2 = variant(v1, { version: '2.0.0' });
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('state directory', () => {
  it('brings deployed bundles and chains back after a restart', async () => {
    const a = await startServer();
    const put = await request(`${a.url}/v1/bundles/fnkit`, { method: 'PUT', body: v1, headers: auth });
    expect(put.statusCode).toBe(201);
    await put.body.dump();
    const ch = await request(`${a.url}/v1/chains/shout`, { method: 'PUT', body: JSON.stringify({ steps: ['upper', 'exclaim'] }), headers: auth });
    expect(ch.statusCode).toBe(201);
    await ch.body.dump();
    await kill9(a.child);
    const b = await startServer();
    expect(await version(b.url)).toBe('1.0.0');
    expect(await echo(b.url)).toBe('POST /|hi');
    expect(await (await request(`${b.url}/chain/shout/`, { method: 'POST', body: 'hey' })).body.text()).toBe('HEY!');
    await kill9(b.child);
  });

  it('keeps the old version served when the server is killed in the middle of an upload', async () => {
    const a = await startServer();
    let release!: () => void;
    const stalled = new Promise<void>((r) => (release = r));
    const half = v2.length >> 1;
    async function* body() {
      yield v2.subarray(0, half);
      await stalled; // the rest never comes before the kill
      yield v2.subarray(half);
    }
    const upload = request(`${a.url}/v1/bundles/fnkit`, { method: 'PUT', body: Readable.from(body()), headers: { ...auth, 'content-length': String(v2.length) } }).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 200)); // let the first half reach the server
    await kill9(a.child);
    release();
    expect(await upload).toBeInstanceOf(Error);
    const b = await startServer();
    expect(await version(b.url)).toBe('1.0.0');
    expect(await echo(b.url)).toBe('POST /|hi');
    expect(readdirSync(dir).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
    await kill9(b.child);
  });

  it('discards what a crash in the middle of writing the new version left behind', async () => {
    // What a crash inside a deploy leaves: a half-written temp file beside the old version's file (the
    // rename over it never happened), and a half-written temp index from a chain change.
    writeFileSync(join(dir, '.tmp-deadbeef'), '{"chains":{"sh');
    writeFileSync(join(dir, 'bundles', '.tmp-cafe'), v2.subarray(0, 100));
    const before = readdirSync(join(dir, 'bundles')).filter((f) => !f.startsWith('.tmp-'));
    const b = await startServer();
    expect(await version(b.url)).toBe('1.0.0');
    expect(readdirSync(dir).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
    expect(readdirSync(join(dir, 'bundles')).sort()).toEqual(before.sort());
    // and a complete deploy after that switches versions for good, replacing the bundle's one file
    const put = await request(`${b.url}/v1/bundles/fnkit`, { method: 'PUT', body: v2, headers: auth });
    expect(put.statusCode).toBe(201);
    await put.body.dump();
    expect(readdirSync(join(dir, 'bundles')).sort()).toEqual(before.sort());
    await kill9(b.child);
    const c = await startServer();
    expect(await version(c.url)).toBe('2.0.0');
    await kill9(c.child);
  });

  it('reads and migrates a state directory of the older layout (index naming content-addressed files)', async () => {
    const old = mkdtempSync(join(tmpdir(), 'roam-state-old-'));
    try {
      mkdirSync(join(old, 'bundles'));
      writeFileSync(join(old, 'bundles', `${contentHash(v2)}.wasm`), v2);
      writeFileSync(join(old, 'index.json'), JSON.stringify({ bundles: { fnkit: contentHash(v2) }, chains: { shout: { steps: ['upper', 'exclaim'] } } }));
      const a = await startServer(old);
      expect(await version(a.url)).toBe('2.0.0');
      expect(await (await request(`${a.url}/chain/shout/`, { method: 'POST', body: 'hey' })).body.text()).toBe('HEY!');
      await kill9(a.child);
      expect(readdirSync(join(old, 'bundles')).filter((f) => f.endsWith('.wasm'))).toEqual([]);
      expect(JSON.parse(readFileSync(join(old, 'index.json'), 'utf8')).bundles).toBeUndefined();
      const b = await startServer(old);
      expect(await version(b.url)).toBe('2.0.0');
      await kill9(b.child);
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  });

  it("brings a bundle's manifest chains back with it after a restart", async () => {
    const a = await startServer();
    const withChain = variant(v1, { name: 'fnkit3', functions: [{ name: 'up3', export: 'upper' }, { name: 'ex3', export: 'exclaim' }], chains: { yell: { steps: ['up3', 'ex3', 'ex3'] } } });
    const put = await request(`${a.url}/v1/bundles/fnkit3`, { method: 'PUT', body: withChain, headers: auth });
    expect(put.statusCode, await put.body.text()).toBe(201);
    await kill9(a.child);
    const b = await startServer();
    expect(await (await request(`${b.url}/chain/yell/`, { method: 'POST', body: 'hey' })).body.text()).toBe('HEY!!');
    await kill9(b.child);
  });
});
