// Chains on a real gateway: declared order, next-hop picking, call-and-return, limits, payload pool hygiene.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { Worker } from 'node:worker_threads';
import { createGateway, type Gateway } from '../engine/http/gateway.ts';
import { silentLogger } from '../engine/http/log.ts';
import { PayloadPool } from '../engine/chains/payload-pool.ts';
import { buildFixture, variant } from './http-fixtures.ts';

const ADMIN = 'chain-secret';
let gw: Gateway;
let url: string;

async function put(path: string, body: Uint8Array | string) {
  const r = await request(url + path, { method: 'PUT', body, headers: { authorization: `Bearer ${ADMIN}` } });
  const text = await r.body.text();
  expect(r.statusCode, text).toBe(201);
}
async function post(path: string, body: string | Uint8Array, headers: Record<string, string> = {}) {
  const r = await request(url + path, { method: 'POST', body, headers });
  return { status: r.statusCode, headers: r.headers, text: await r.body.text() };
}

beforeAll(async () => {
  gw = await createGateway({ token: ADMIN, threads: 2, logger: silentLogger, maxHops: 16, maxBodyBytes: 512 * 1024, remoteAllow: ['127.0.0.1'] }); // remote steps here reach the second test server
  url = await gw.listen(0);
  await put('/v1/bundles/fnkit', await buildFixture('test/fixtures/fnkit'));
  await put('/v1/chains/shout', JSON.stringify({ steps: ['upper', 'exclaim', 'exclaim'] }));
  await put('/v1/chains/route', JSON.stringify({ steps: ['pick', 'exclaim'], also: ['upper', 'echo'] }));
  await put('/v1/chains/rpc', JSON.stringify({ steps: ['rpc', 'exclaim'], also: ['upper'] }));
  await put('/v1/chains/forever', JSON.stringify({ steps: ['loop'] }));
  await put('/v1/chains/fails', JSON.stringify({ steps: ['upper', 'teapot', 'exclaim'] }));
  await put('/v1/chains/shout-http', JSON.stringify({ steps: ['upper', 'exclaim', 'exclaim'], hops: 'http' }));
  await put('/v1/chains/rpc-http', JSON.stringify({ steps: ['rpc', 'exclaim'], also: ['upper'], hops: 'http' }));
  await put('/v1/chains/fails-http', JSON.stringify({ steps: ['upper', 'teapot', 'exclaim'], hops: 'http' }));
  await put('/v1/chains/broken', JSON.stringify({ steps: ['upper', 'missing'] }));
});
afterAll(async () => {
  await gw?.close();
});

describe('chains', () => {
  it('runs the declared steps in order, each getting the previous body', async () => {
    const r = await post('/chain/shout/', 'hello');
    expect(r.status).toBe(200);
    expect(r.text).toBe('HELLO!!');
  });

  it('lets a function pick its next hop, or end the chain', async () => {
    expect((await post('/chain/route/', 'x', { 'x-next': 'upper' })).text).toBe('X');
    expect((await post('/chain/route/', 'x', { 'x-next': '-' })).text).toBe('x');
    expect((await post('/chain/route/', 'x')).text).toBe('x!');
    const viaEcho = await post('/chain/route/p?q', 'body', { 'x-next': 'echo' });
    expect(viaEcho.text).toBe('POST /p?q|body');
    expect(viaEcho.headers['x-from']).toBe('pick');
  });

  it('refuses a next hop the chain does not declare', async () => {
    const r = await post('/chain/route/', 'x', { 'x-next': 'spin' });
    expect(r.status).toBe(500);
    expect(JSON.parse(r.text)).toMatchObject({ error: 'E_CHAIN_HOP', function: 'pick' });
  });

  it('calls a function and returns to the caller with its answer and state', async () => {
    const r = await post('/chain/rpc/', 'abc');
    expect(r.text).toBe('rpc(ABC)[s1] from upper!');
  });

  it('stops a chain that keeps hopping with 508', async () => {
    const r = await post('/chain/forever/', 'x');
    expect(r.status).toBe(508);
    expect(JSON.parse(r.text).error).toBe('E_CHAIN_LOOP');
  });

  it("ends the chain at a hop's error response", async () => {
    const r = await post('/chain/fails/', 'x');
    expect(r.status).toBe(418);
    expect(JSON.parse(r.text)).toMatchObject({ error: 'E_HANDLER', function: 'teapot' });
  });

  it('answers 404 when a chain names a function nobody serves', async () => {
    const r = await post('/chain/broken/', 'x');
    expect(r.status).toBe(404);
    expect(JSON.parse(r.text).message).toMatch(/'missing'/);
  });

  it('moves payloads bigger than a pool slot too, and leaves no pool slot in use', async () => {
    const big = 'a'.repeat(70 * 1024);
    const r = await post('/chain/route/', big);
    expect(r.status, r.text.slice(0, 200)).toBe(200);
    expect(r.text).toBe(big + '!');
    await Promise.all(Array.from({ length: 40 }, (_, i) => post('/chain/shout/', `m${i}`)));
    expect(gw.executor.pool.used()).toBe(0);
  });
});

describe('chains with every hop over HTTP (the baseline)', () => {
  it('gives the same answers as the shared-memory hand-off', async () => {
    expect((await post('/chain/shout-http/', 'hello')).text).toBe('HELLO!!');
    expect((await post('/chain/rpc-http/', 'abc')).text).toBe('rpc(ABC)[s1] from upper!');
    const f = await post('/chain/fails-http/', 'x');
    expect(f.status).toBe(418);
    expect(JSON.parse(f.text)).toMatchObject({ error: 'E_HANDLER', function: 'teapot' });
  });

  it('refuses an unknown hop transport', async () => {
    const r = await request(url + '/v1/chains/odd', { method: 'PUT', body: JSON.stringify({ steps: ['upper'], hops: 'pigeon' }), headers: { authorization: `Bearer ${ADMIN}` } });
    expect(r.statusCode).toBe(400);
    expect(((await r.body.json()) as { message: string }).message).toMatch(/"hops"/);
  });
});

describe('payload pool', () => {
  it('never hands the same slot to two threads at once', async () => {
    const pool = PayloadPool.create(64, 64);
    const src = `
      const { workerData, parentPort } = require('node:worker_threads');
      const { buffer, slots, slotSize, me, rounds } = workerData;
      const bits = new Int32Array(buffer, 0, Math.ceil(slots / 32));
      const header = Math.ceil((bits.length * 4) / 64) * 64;
      const u8 = new Uint8Array(buffer);
      let clashes = 0;
      for (let r = 0; r < rounds; r++) {
        const held = [];
        for (let k = 0; k < 8; k++) {
          for (let w = 0; w < bits.length; w++) {
            const cur = Atomics.load(bits, w);
            if (cur === -1) continue;
            const bit = 31 - Math.clz32(~cur & (cur + 1));
            const slot = w * 32 + bit;
            if (slot >= slots) continue;
            if (Atomics.compareExchange(bits, w, cur, cur | (1 << bit)) === cur) { held.push(slot); break; }
            w--;
          }
        }
        for (const s of held) u8[header + s * slotSize] = me;
        for (const s of held) if (u8[header + s * slotSize] !== me) clashes++;
        for (const s of held) Atomics.and(bits, s >>> 5, ~(1 << (s & 31)));
      }
      parentPort.postMessage(clashes);`;
    const run = (me: number) =>
      new Promise<number>((resolve, reject) => {
        const w = new Worker(src, { eval: true, workerData: { ...pool.init, me, rounds: 2000 } });
        w.once('message', resolve);
        w.once('error', reject);
      });
    // Two other threads run the pool's algorithm (same code shape) while this one uses the class.
    const others = Promise.all([run(1), run(2)]);
    let mine = 0;
    for (let r = 0; r < 2000; r++) {
      const held = [pool.alloc(10), pool.alloc(10)].filter((d) => d !== null);
      for (const d of held) pool.u8[d!.offset] = 3;
      for (const d of held) if (pool.u8[d!.offset] !== 3) mine++;
      for (const d of held) pool.free(d!);
    }
    expect([mine, ...(await others)]).toEqual([0, 0, 0]);
    expect(pool.used()).toBe(0);
  });
});

describe('chains across processes and in the manifest', () => {
  let other: Gateway;
  let otherUrl: string;
  beforeAll(async () => {
    // A second real server: its functions are reached over HTTP, only at the hop that names them.
    other = await createGateway({ token: 'other', threads: 1, logger: silentLogger });
    otherUrl = await other.listen(0);
    const r = await request(`${otherUrl}/v1/bundles/fnkit`, { method: 'PUT', body: await buildFixture('test/fixtures/fnkit'), headers: { authorization: 'Bearer other' } });
    expect(r.statusCode).toBe(201);
  });
  afterAll(async () => {
    await other?.close();
  });
  const calls = async (base: string, token: string) => (await (await request(`${base}/v1/bundles/fnkit`, { headers: { authorization: `Bearer ${token}` } })).body.json() as { stats: { calls: number } }).stats.calls;

  it('runs a step on another server, moving the payload only at that hop', async () => {
    await put('/v1/chains/far', JSON.stringify({ steps: ['upper', `${otherUrl}/fn/exclaim`, 'exclaim', 'exclaim'] }));
    const before = await calls(otherUrl, 'other');
    const r = await post('/chain/far/', 'hello');
    expect(r.status, r.text).toBe(200);
    expect(r.text).toBe('HELLO!!!');
    expect(await calls(otherUrl, 'other')).toBe(before + 1); // one request reached the other server
    const viaHttp = await put('/v1/chains/far-http', JSON.stringify({ steps: ['upper', `${otherUrl}/fn/exclaim`, 'exclaim'], hops: 'http' })).then(() => post('/chain/far-http/', 'x'));
    expect(viaHttp.text).toBe('X!!');
  });

  it('answers 502 naming the remote step when the other server is unreachable, and keeps serving', async () => {
    await put('/v1/chains/gone', JSON.stringify({ steps: ['upper', 'http://127.0.0.1:1/fn/exclaim'] }));
    const r = await post('/chain/gone/', 'x');
    expect(r.status).toBe(502);
    expect(JSON.parse(r.text)).toMatchObject({ error: 'E_REMOTE', function: 'http://127.0.0.1:1/fn/exclaim' });
    expect((await post('/chain/shout/', 'ok')).text).toBe('OK!!');
    expect(gw.executor.pool.used()).toBe(0);
  });

  it.each(['http://169.254.169.254/latest/meta-data', 'http://10.0.0.1/fn/x', 'http://[::1]:1/fn/x'])('refuses a remote step to a host not in --remote-allow (%s) with 403 E_REMOTE_DENIED naming it (regression: any URL was accepted)', async (step) => {
    const r = await request(`${url}/v1/chains/snoop`, { method: 'PUT', body: JSON.stringify({ steps: ['upper', step] }), headers: { authorization: `Bearer ${ADMIN}` } });
    expect(r.statusCode).toBe(403);
    const body = (await r.body.json()) as { error: string; message: string };
    expect(body.error).toBe('E_REMOTE_DENIED');
    expect(body.message).toContain(`remote step '${step}' refused`);
    expect(body.message).toContain('--remote-allow');
  });

  it('refuses every remote step by default, at PUT and at the hop of a chain a manifest declared', async () => {
    const strict = await createGateway({ token: ADMIN, threads: 1, logger: silentLogger });
    const strictUrl = await strict.listen(0);
    try {
      const step = `${otherUrl}/fn/exclaim`;
      const r = await request(`${strictUrl}/v1/chains/far`, { method: 'PUT', body: JSON.stringify({ steps: ['upper', step] }), headers: { authorization: `Bearer ${ADMIN}` } });
      expect(r.statusCode).toBe(403);
      expect(await r.body.text()).toContain('none is allowed unless the operator lists it');
      // A chain in a manifest is not checked at PUT: its remote hop is refused when it runs, and nothing is sent.
      const before = await calls(otherUrl, 'other');
      const bytes = variant(await buildFixture('test/fixtures/fnkit'), { name: 'fnkit3', functions: [{ name: 'up3', export: 'upper' }], chains: { away: { steps: ['up3', step] } } });
      expect((await request(`${strictUrl}/v1/bundles/fnkit3`, { method: 'PUT', body: bytes, headers: { authorization: `Bearer ${ADMIN}` } })).statusCode).toBe(201);
      const run = await request(`${strictUrl}/chain/away/`, { method: 'POST', body: 'x' });
      expect(run.statusCode).toBe(403);
      expect(((await run.body.json()) as { error: string }).error).toBe('E_REMOTE_DENIED');
      expect(await calls(otherUrl, 'other')).toBe(before);
    } finally {
      await strict.close();
    }
  });

  it('refuses a remote step that is not a URL it can use', async () => {
    const r = await request(`${url}/v1/chains/bad`, { method: 'PUT', body: JSON.stringify({ steps: ['upper', 'http://[nope/fn/x'] }), headers: { authorization: `Bearer ${ADMIN}` } });
    expect(r.statusCode).toBe(400);
    expect(await r.body.text()).toMatch(/not a valid URL/);
  });

  it('serves chains declared in a bundle manifest while the bundle is deployed', async () => {
    const bytes = variant(await buildFixture('test/fixtures/fnkit'), { name: 'fnkit2', functions: [{ name: 'up2', export: 'upper' }, { name: 'ex2', export: 'exclaim' }], chains: { loud: { steps: ['up2', 'ex2'] } } });
    await put('/v1/bundles/fnkit2', bytes);
    expect((await post('/chain/loud/', 'hey')).text).toBe('HEY!');
    const taken = await request(`${url}/v1/chains/loud`, { method: 'PUT', body: JSON.stringify({ steps: ['upper'] }), headers: { authorization: `Bearer ${ADMIN}` } });
    expect(taken.statusCode).toBe(409);
    expect(await taken.body.text()).toMatch(/declared by bundle 'fnkit2'/);
    // a new version takes effect at once (run plans cached in the workers are rebuilt)
    const v2 = variant(await buildFixture('test/fixtures/fnkit'), { name: 'fnkit2', version: '2.0.0', functions: [{ name: 'up2', export: 'upper' }, { name: 'ex2', export: 'upper' }], chains: { loud: { steps: ['up2', 'ex2'] } } });
    await put('/v1/bundles/fnkit2', v2);
    expect((await post('/chain/loud/', 'hey')).text).toBe('HEY');
    await request(`${url}/v1/bundles/fnkit2`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN}` } }).then((r) => r.body.text());
    expect((await post('/chain/loud/', 'hey')).status).toBe(404);
  });
});
