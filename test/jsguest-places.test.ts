// TypeScript guests where guests run: functions over HTTP and in chains (mixed with AssemblyScript hops),
// and a TypeScript kv handler over the wire at host, DPU and client places, on the table the AssemblyScript
// kv wrote (a new version of `kv` in TypeScript keeps its regions).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createGateway, type Gateway } from '../engine/http/gateway.ts';
import { silentLogger } from '../engine/http/log.ts';
import { connect, type Client } from '../engine/client/index.ts';
import { listenWire } from '../engine/server/wire-server.ts';
import { DpuPlace } from '../engine/places/dpu-place.ts';
import { shmAddon } from '../engine/shm/index.ts';
import { buildFixture, variant } from './http-fixtures.ts';
import { kvBundle, key, putMsg } from './places-helpers.ts';
import { tsBundle } from './jsguest-helpers.ts';
import { serve } from '../engine/server/serve.ts';

const ADMIN = 'ts-secret';

describe('TypeScript functions over HTTP and in chains', () => {
  let gw: Gateway;
  let url: string;
  const put = async (path: string, body: Uint8Array | string) => {
    const r = await request(url + path, { method: 'PUT', body, headers: { authorization: `Bearer ${ADMIN}` } });
    const text = await r.body.text();
    expect(r.statusCode, text).toBe(201);
  };
  const post = async (path: string, body: string) => {
    const r = await request(url + path, { method: 'POST', body });
    return { status: r.statusCode, text: await r.body.text() };
  };
  beforeAll(async () => {
    gw = await createGateway({ token: ADMIN, threads: 2, logger: silentLogger });
    url = await gw.listen(0);
    await put('/v1/bundles/hello-qjs', await tsBundle('functions/hello-qjs'));
    await put('/v1/bundles/fnkit', await buildFixture('test/fixtures/fnkit'));
    await put('/v1/chains/mixed', JSON.stringify({ steps: ['greet', 'upper', 'exclaim'] }));
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('serves a TypeScript function', async () => {
    expect(await post('/fn/greet', 'bob')).toEqual({ status: 200, text: 'hello, bob' });
    expect((await post('/fn/greet/alice', '')).text).toBe('hello, alice');
  });

  it("runs the bundle's declared chain of two TypeScript functions", async () => {
    expect(await post('/chain/greet-loud', 'bob')).toEqual({ status: 200, text: 'HELLO, BOB!' });
  });

  it('chains a TypeScript hop with AssemblyScript hops', async () => {
    expect(await post('/chain/mixed', 'ts')).toEqual({ status: 200, text: 'HELLO, TS!' });
  });
});

describe.skipIf(!shmAddon())('a TypeScript kv handler at host, DPU and client places', () => {
  let server: Awaited<ReturnType<typeof listenWire>>;
  let dpu: DpuPlace;
  let client: Client;
  beforeAll(async () => {
    dpu = new DpuPlace();
    await dpu.start();
    server = await listenWire({ host: { workers: 1 }, dpu });
    server.deploy(await kvBundle());
    client = await connect(server.port);
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
  });

  it('reads what the AssemblyScript kv wrote and writes what it reads, at every place', async () => {
    await client.send('kv/put', putMsg(31, 'as-host'), { place: 'host' });
    await client.send('kv/put', putMsg(32, 'as-dpu'), { place: 'dpu' });
    // A new version of kv, in TypeScript: same name, so the same regions.
    server.deploy(variant(await tsBundle('functions/kv-ts'), { name: 'kv' }));
    for (const place of ['host', 'dpu', 'client'] as const) {
      const r = await client.call('kv/get', key(31), { place });
      expect(r.place).toBe(place);
      expect(Buffer.from(r.bytes).toString()).toBe('as-host');
      expect(Buffer.from(await client.send('kv/get', key(32), { place })).toString()).toBe('as-dpu');
      await client.send('kv/put', putMsg(40, `ts-${place}`), { place });
      expect(Buffer.from(await client.send('kv/get', key(40), { place: 'host' })).toString()).toBe(`ts-${place}`);
    }
    await expect(client.send('kv/get', key(999_999), { place: 'dpu' })).rejects.toMatchObject({ code: 'E_HANDLER', message: expect.stringMatching(/code 404: not found/) });
    // And back to AssemblyScript: it reads what TypeScript wrote.
    server.deploy(await kvBundle());
    expect(Buffer.from(await client.send('kv/get', key(40), { place: 'dpu' })).toString()).toBe('ts-client');
  });
});

describe.skipIf(!shmAddon())('a TypeScript bundle through a real roam serve: one deploy over HTTP, both doors', () => {
  let s: Awaited<ReturnType<typeof serve>>;
  let c: Client;
  beforeAll(async () => {
    s = await serve({ port: 0, host: '127.0.0.1', token: ADMIN, threads: 1, wire: { workers: 1, dpu: true, maxFrame: 1 << 20, inlineUs: 100, nativeIo: true } });
    const r = await request(`${s.url}/v1/bundles/hello-qjs`, { method: 'PUT', body: await tsBundle('functions/hello-qjs'), headers: { authorization: `Bearer ${ADMIN}` } });
    expect(r.statusCode, await r.body.text()).toBe(201);
    c = await connect(Number(new URL(s.url).port), { token: ADMIN, clientPlace: false });
  });
  afterAll(async () => {
    c?.close();
    await s?.close();
  });

  it('serves its functions over HTTP and its handler over the wire at host and dpu', async () => {
    const r = await request(`${s.url}/fn/greet/ada`, { method: 'POST', body: '' });
    expect(await r.body.text()).toBe('hello, ada');
    for (const place of ['host', 'dpu'] as const) {
      const m = await c.call('hello-qjs/hello', Buffer.from(place), { place });
      expect(m.place).toBe(place);
      expect(Buffer.from(m.bytes).toString()).toBe(`hello, ${place}`);
    }
  });
});
