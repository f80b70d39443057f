// Streaming bodies (roam:body) on a real gateway: bodies larger than the guest's memory, 413 at the cap,
// misuse answered 500 with the reason, and chains that hand bodies on in place.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { Readable } from 'node:stream';
import { createGateway, type Gateway } from '../engine/http/gateway.ts';
import { silentLogger } from '../engine/http/log.ts';
import { buildFixture, variant } from './http-fixtures.ts';

const ADMIN = 'stream-secret';
const MAX = 16 * 1024 * 1024;
let gw: Gateway;
let url: string;
let bodykit: Uint8Array;

async function put(path: string, body: Uint8Array | string) {
  const r = await request(url + path, { method: 'PUT', body, headers: { authorization: `Bearer ${ADMIN}` } });
  const text = await r.body.text();
  return { status: r.statusCode, text };
}
async function post(path: string, body: string | Uint8Array | Readable, headers: Record<string, string> = {}) {
  const r = await request(url + path, { method: 'POST', body, headers });
  const bytes = new Uint8Array(await r.body.arrayBuffer());
  return { status: r.statusCode, headers: r.headers, bytes, text: () => Buffer.from(bytes).toString('utf8'), json: () => JSON.parse(Buffer.from(bytes).toString('utf8')) };
}

/** What functions/stream's wc answers, computed here. */
function wc(b: Uint8Array) {
  let lines = 0;
  let words = 0;
  let inWord = false;
  let h = 0xcbf29ce484222325n;
  for (const c of b) {
    h = ((h ^ BigInt(c)) * 0x100000001b3n) & 0xffffffffffffffffn;
    if (c === 10) lines++;
    const space = c === 32 || c === 10 || c === 9 || c === 13;
    if (!space && !inWord) words++;
    inWord = !space;
  }
  return { bytes: b.length, lines, words, fnv: h.toString(16) };
}

/** `n` bytes of text: words and lines. */
function text(n: number): Uint8Array {
  const b = Buffer.alloc(n);
  const src = 'the quick brown fox jumps over the lazy dog\nstreams carry bodies in chunks\n';
  for (let i = 0; i < n; i++) b[i] = src.charCodeAt(i % src.length);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}
const upper = (b: Uint8Array) => Buffer.from(b).toString('latin1').toUpperCase();

beforeAll(async () => {
  bodykit = await buildFixture('test/fixtures/bodykit');
  gw = await createGateway({ token: ADMIN, threads: 2, logger: silentLogger, maxBodyBytes: MAX });
  url = await gw.listen(0);
  for (const [name, bytes] of [['stream', await buildFixture('functions/stream')], ['bodykit', bodykit], ['fnkit', await buildFixture('test/fixtures/fnkit')]] as const) {
    const r = await put(`/v1/bundles/${name}`, bytes);
    expect(r.status, r.text).toBe(201);
  }
});
afterAll(async () => {
  await gw?.close();
});

describe('streaming a request body', () => {
  it('processes a body 16 times larger than the guest memory limit (512 KiB) in chunks', async () => {
    const big = text(8 * 1024 * 1024);
    const r = await post('/fn/wc/', big);
    expect(r.status, r.text()).toBe(200);
    expect(r.json()).toEqual(wc(big));
    // The same body read whole (the simple API, req.body) does not fit in that memory: the limit is real.
    const whole = await post('/fn/whole/', big);
    expect(whole.status).toBe(500);
    expect(whole.json().error).toBe('E_MEMORY_LIMIT');
    // A small body through the simple API on a streamed request works.
    const small = text(1000);
    const ok = await post('/fn/whole/', small);
    expect(ok.json()).toEqual({ bytes: 1000, fnv: wc(small).fnv });
  });

  it('streams a chunked upload (no content-length) and an empty body', async () => {
    const parts = [text(300_000), text(500_000), text(7)];
    const all = Buffer.concat(parts);
    const r = await post('/fn/wc/', Readable.from(parts.map((p) => Buffer.from(p))));
    expect(r.status).toBe(200);
    expect(r.json()).toEqual(wc(all));
    expect((await post('/fn/wc/', '')).json()).toEqual(wc(new Uint8Array(0)));
  });

  it('answers 413 past the configured max, declared or chunked, and serves on', async () => {
    const over = await post('/fn/wc/', new Uint8Array(MAX + 1));
    expect(over.status).toBe(413);
    expect(over.json().error).toBe('E_TOO_LARGE');
    const chunked = await post('/fn/wc/', Readable.from([Buffer.alloc(MAX / 2), Buffer.alloc(MAX / 2), Buffer.alloc(1)]));
    expect(chunked.status).toBe(413);
    const atMax = await post('/fn/bodysize/', new Uint8Array(MAX));
    expect(atMax.status).toBe(200);
    expect(atMax.text()).toBe(String(MAX));
  });
});

describe('streaming a reply body', () => {
  it('writes a large reply in chunks (transferred to the gateway) and a small one (pool slot)', async () => {
    for (const n of [9 * 1024 * 1024, 1234]) {
      const body = text(n);
      const r = await post('/fn/shout/', body, { 'content-type': 'text/x-shout' });
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('text/x-shout');
      expect(Number(r.headers['content-length'])).toBe(n);
      expect(Buffer.from(r.bytes).toString('latin1') === upper(body)).toBe(true);
    }
    expect(gw.executor.pool.used()).toBe(0);
  });
});

describe('misuse of roam:body', () => {
  it('answers 500 with the reason for a read past the body, a bad pointer, a bad write and two bodies, and serves on', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['overread', 'E_BODY', /body read of 16 bytes at offset 11 is outside the 10-byte request body/],
      ['badptr', 'E_GUEST_BOUNDS', /guest pointer \d+\+16 is outside linear memory/],
      ['badwrite', 'E_GUEST_BOUNDS', /guest pointer \d+\+64 is outside linear memory/],
      ['twobodies', 'E_ABI', /inline body of 6 bytes after writing 8 body bytes/],
    ];
    for (const [fn, code, why] of cases) {
      const r = await post(`/fn/${fn}/`, '0123456789');
      expect(r.status, fn).toBe(500);
      expect(r.json().error, fn).toBe(code);
      expect(r.json().message, fn).toMatch(why);
      expect(r.json().function, fn).toBe(fn);
      const ok = await post('/fn/wc/', 'still serving\n');
      expect(ok.status).toBe(200);
      expect(ok.json().words).toBe(2);
    }
  });

  it('refuses at deploy a bundle that imports roam:body without declaring the capability', async () => {
    const r = await put('/v1/bundles/nobody', variant(bodykit, { name: 'nobody', capabilities: [], functions: [{ name: 'nb', export: 'bodysize' }] }));
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text).error).toBe('E_IMPORT');
    expect(r.text).toMatch(/roam:body/);
  });
});

describe('chains with streamed bodies', () => {
  it('hands a body from a streaming hop to a streaming one and to an inline one, by descriptor', async () => {
    expect((await put('/v1/chains/shoutwc', JSON.stringify({ steps: ['shout', 'wc'] }))).status).toBe(201);
    expect((await put('/v1/chains/shoutbang', JSON.stringify({ steps: ['shout', 'exclaim'] }))).status).toBe(201);
    // The gateway hands each run its request as a descriptor into the payload pool when it fits a slot.
    const inputs: string[] = [];
    const run = gw.executor.run.bind(gw.executor);
    gw.executor.run = (def, input, ...rest) => {
      inputs.push(input === null ? 'none' : input instanceof Uint8Array ? 'bytes' : 'descriptor');
      return run(def, input, ...rest);
    };
    try {
      for (const n of [2000, 3 * 1024 * 1024]) {
        const body = text(n);
        const r = await post('/chain/shoutwc/', body);
        expect(r.status).toBe(200);
        expect(r.json()).toEqual(wc(new Uint8Array(Buffer.from(upper(body), 'latin1'))));
      }
      const small = await post('/chain/shoutbang/', 'hello world');
      expect(small.text()).toBe('HELLO WORLD!');
    } finally {
      gw.executor.run = run;
    }
    expect(inputs).toEqual(['descriptor', 'bytes', 'descriptor']);
    expect(gw.executor.pool.used()).toBe(0);
  });

  it('hands on a reply read in place from the same instance, with bodies that outgrow its input buffer', async () => {
    // upper → exclaim → exclaim all run in one fnkit instance: each hop's body is the previous reply, still
    // in that instance's memory, and one byte longer than the last input (the input buffer is reallocated).
    expect((await put('/v1/chains/grow', JSON.stringify({ steps: ['upper', 'exclaim', 'exclaim'] }))).status).toBe(201);
    for (const n of [10, 5000, 40_000]) {
      const body = text(n);
      const r = await post('/chain/grow/', body);
      expect(r.status, r.text()).toBe(200);
      expect(r.text() === upper(body) + '!!').toBe(true);
    }
    expect(gw.executor.pool.used()).toBe(0);
  });
});
