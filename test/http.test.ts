// The gateway against a real server on port 0 with real worker threads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createGateway, type Gateway } from '../engine/http/gateway.ts';
import { silentLogger } from '../engine/http/log.ts';
import { TenantTable } from '../engine/tenancy/tenants.ts';
import { buildFixture, variant } from './http-fixtures.ts';

const ADMIN = 'admin-secret';
let gw: Gateway;
let url: string;
let fnkit: Uint8Array;
let hello: Uint8Array;

async function call(method: string, path: string, opts: { body?: Uint8Array | string; token?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const r = await request(url + path, { method: method as 'GET', headers, ...(opts.body !== undefined ? { body: opts.body } : {}) });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, text, json: () => JSON.parse(text) };
}

beforeAll(async () => {
  [fnkit, hello] = await Promise.all([buildFixture('test/fixtures/fnkit'), buildFixture('functions/hello')]);
  gw = await createGateway({
    token: ADMIN,
    threads: 2,
    maxBodyBytes: 4096,
    maxBundleBytes: 256 * 1024,
    logger: silentLogger,
    tenants: new TenantTable([
      { name: 'shop', token: 'shop-token', weight: 2 },
      { name: 'blog', token: 'blog-token' },
    ]),
  });
  url = await gw.listen(0);
  const r = await call('PUT', '/v1/bundles/fnkit', { body: fnkit, token: ADMIN });
  expect(r.status).toBe(201);
});
afterAll(async () => {
  await gw?.close();
});

describe('deploy and invoke', () => {
  it('deploys a bundle and serves its function over GET and POST', async () => {
    const d = await call('PUT', '/v1/bundles/hello', { body: hello, token: ADMIN });
    expect(d.status).toBe(201);
    expect(d.json()).toMatchObject({ name: 'hello', version: '1.0.0', tenant: 'default', functions: ['greet'] });
    const g = await call('GET', '/fn/greet/ada');
    expect(g.status).toBe(200);
    expect(g.headers['content-type']).toBe('application/json');
    expect(g.json()).toEqual({ greeting: 'hello, ada', method: 'GET' });
    const e = await call('POST', '/fn/echo/some/path?q=1', { body: 'payload' });
    expect(e.text).toBe('POST /some/path?q=1|payload');
  });

  it('lists, describes and removes bundles', async () => {
    await call('PUT', '/v1/bundles/hello', { body: hello, token: ADMIN });
    const ls = await call('GET', '/v1/bundles', { token: ADMIN });
    expect(ls.json().bundles.map((b: { name: string }) => b.name).sort()).toEqual(['fnkit', 'hello']);
    const one = await call('GET', '/v1/bundles/hello', { token: ADMIN });
    expect(one.json().manifest.functions).toEqual([{ name: 'greet', export: 'greet' }]);
    expect((await call('DELETE', '/v1/bundles/hello', { token: ADMIN })).status).toBe(200);
    expect((await call('GET', '/fn/greet/x')).status).toBe(404);
    expect((await call('GET', '/v1/bundles/hello', { token: ADMIN })).status).toBe(404);
  });

  it('replaces a bundle with a new version in place', async () => {
    await call('PUT', '/v1/bundles/hello', { body: hello, token: ADMIN });
    const v2 = variant(hello, { version: '2.0.0' });
    expect((await call('PUT', '/v1/bundles/hello', { body: v2, token: ADMIN })).json().version).toBe('2.0.0');
    expect((await call('GET', '/fn/greet/x')).status).toBe(200);
    expect((await call('GET', '/v1/bundles/hello', { token: ADMIN })).json().version).toBe('2.0.0');
  });

  it('reports stats and Prometheus metrics per function', async () => {
    await call('POST', '/fn/echo/', { body: 'x' });
    const s = (await call('GET', '/v1/stats', { token: ADMIN })).json();
    expect(s.workers).toBe(2);
    expect(s.bundles.fnkit.calls).toBeGreaterThan(0);
    expect(s.bundles.fnkit.fuel).toBeGreaterThan(0);
    const m = await call('GET', '/metrics');
    expect(m.headers['content-type']).toMatch(/^text\/plain/);
    expect(m.text).toMatch(/roam_function_calls_total\{function="echo",tenant="default"\} \d+/);
    expect(m.text).toMatch(/roam_function_fuel_total\{function="echo"/);
    expect(m.text).toMatch(/roam_function_duration_seconds_bucket\{function="echo",le="0.001"/);
  });
});

describe('refuses bad requests', () => {
  it('answers 401 to control requests without a token or with a wrong one', async () => {
    for (const token of [undefined, 'wrong']) {
      const r = await call('PUT', '/v1/bundles/fnkit', { body: fnkit, ...(token ? { token } : {}) });
      expect(r.status).toBe(401);
      expect(r.json().error).toBe('E_UNAUTHORIZED');
      expect((await call('GET', '/v1/bundles', token ? { token } : {})).status).toBe(401);
    }
  });

  it("answers 403 when a tenant's token touches another tenant's bundle", async () => {
    const shopB = variant(fnkit, { name: 'shopkit', tenant: 'shop', functions: [{ name: 'shopupper', export: 'upper' }] });
    expect((await call('PUT', '/v1/bundles/shopkit', { body: shopB, token: 'blog-token' })).status).toBe(403);
    const ok = await call('PUT', '/v1/bundles/shopkit', { body: shopB, token: 'shop-token' });
    expect(ok.status).toBe(201);
    expect((await call('DELETE', '/v1/bundles/shopkit', { token: 'blog-token' })).status).toBe(403);
    expect((await call('GET', '/v1/bundles/shopkit', { token: 'blog-token' })).status).toBe(403);
    const seen = (await call('GET', '/v1/bundles', { token: 'blog-token' })).json().bundles;
    expect(seen).toEqual([]);
    expect((await call('DELETE', '/v1/bundles/shopkit', { token: 'shop-token' })).status).toBe(200);
  });

  it('answers 413 to oversize invocation bodies and bundle uploads', async () => {
    const r = await call('POST', '/fn/echo/', { body: 'x'.repeat(5000) });
    expect(r.status).toBe(413);
    expect(r.json().error).toBe('E_TOO_LARGE');
    const big = await call('PUT', '/v1/bundles/fnkit', { body: new Uint8Array(300 * 1024), token: ADMIN });
    expect(big.status).toBe(413);
    // the function still serves after the refusals
    expect((await call('POST', '/fn/echo/', { body: 'ok' })).status).toBe(200);
  });

  it('answers 404 to an unknown function, chain, bundle or route', async () => {
    for (const p of ['/fn/nope/x', '/chain/nope', '/nowhere']) expect((await call('GET', p)).status).toBe(404);
    const r = await call('GET', '/fn/nope');
    expect(r.json()).toEqual({ error: 'E_NOT_FOUND', message: "no function 'nope'" });
    expect((await call('DELETE', '/v1/bundles/nope', { token: ADMIN })).status).toBe(404);
  });

  it("answers 400 with the verifier's reason to a malformed or disallowed bundle", async () => {
    const junk = await call('PUT', '/v1/bundles/junk', { body: Buffer.from('not wasm at all'), token: ADMIN });
    expect(junk.status).toBe(400);
    expect(junk.json().error).toBe('E_MALFORMED');
    const bare = await call('PUT', '/v1/bundles/bare', { body: Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0), token: ADMIN });
    expect(bare.status).toBe(400);
    expect(bare.json().error).toBe('E_NO_MANIFEST');
    // hello imports roam:log; a manifest that does not declare the capability is refused, naming it
    const undeclared = await call('PUT', '/v1/bundles/hello', { body: variant(hello, { capabilities: ['clock'] }), token: ADMIN });
    expect(undeclared.status).toBe(400);
    expect(undeclared.json().error).toBe('E_IMPORT');
    expect(undeclared.json().message).toMatch(/log/);
    const misnamed = await call('PUT', '/v1/bundles/other', { body: fnkit, token: ADMIN });
    expect(misnamed.status).toBe(400);
    expect(misnamed.json().message).toMatch(/named 'fnkit'/);
  });
});

describe('faulty functions', () => {
  it('answers 500 with the reason when a function loops forever or traps, and others keep serving', async () => {
    const [spin, boom, fine] = await Promise.all([call('POST', '/fn/spin/'), call('POST', '/fn/boom/'), call('POST', '/fn/echo/', { body: 'still here' })]);
    expect(spin.status).toBe(500);
    expect(spin.json()).toMatchObject({ error: 'E_FUEL', function: 'spin' });
    expect(spin.json().message).toMatch(/fuel exhausted/);
    expect(boom.status).toBe(500);
    expect(boom.json()).toMatchObject({ error: 'E_TRAP', function: 'boom' });
    expect(boom.json().message).toMatch(/unreachable/);
    expect(fine.text).toBe('POST /|still here');
    const again = await call('POST', '/fn/echo/', { body: 'after' });
    expect(again.text).toBe('POST /|after');
  });

  it("passes a function's own error status through", async () => {
    const r = await call('POST', '/fn/teapot/');
    expect(r.status).toBe(418);
    expect(r.json()).toMatchObject({ error: 'E_HANDLER', function: 'teapot' });
    expect(r.json().message).toMatch(/I am a teapot/);
  });
});

describe('watchdog', () => {
  it('terminates a worker whose call outlives the deadline, answers 500, and serves on with a new worker', async () => {
    const g = await createGateway({ token: ADMIN, threads: 1, timeoutMs: 200, logger: silentLogger, limits: { maxFuel: 2 ** 31 - 1 } });
    try {
      const u = await g.listen(0);
      const slow = variant(fnkit, { name: 'slowkit', limits: { memoryPages: 16, fuel: 2 ** 31 - 1 }, functions: [{ name: 'spin', export: 'spin' }, { name: 'echo', export: 'echo' }] });
      const d = await request(`${u}/v1/bundles/slowkit`, { method: 'PUT', body: slow, headers: { authorization: `Bearer ${ADMIN}` } });
      expect(d.statusCode).toBe(201);
      await d.body.dump();
      const r = await request(`${u}/fn/spin/`, { method: 'POST' });
      expect(r.statusCode).toBe(500);
      const body = (await r.body.json()) as { error: string; message: string };
      expect(body.error).toBe('E_TIMEOUT');
      expect(body.message).toMatch(/watchdog/);
      const e = await request(`${u}/fn/echo/`, { method: 'POST', body: 'alive' });
      expect(await e.body.text()).toBe('POST /|alive');
      expect(g.executor.timeouts).toBe(1);
    } finally {
      await g.close();
    }
  });
});

describe('state in regions', () => {
  it('shares a function bundle’s regions between all workers', async () => {
    const counter = await buildFixture('test/fixtures/counter');
    expect((await call('PUT', '/v1/bundles/counter', { body: counter, token: ADMIN })).status).toBe(201);
    const counts = await Promise.all(Array.from({ length: 40 }, async () => Number((await call('POST', '/fn/hit/')).text)));
    // one counter for both workers: every call saw a distinct value
    expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // and a new version of the bundle keeps the state
    expect((await call('PUT', '/v1/bundles/counter', { body: variant(counter, { version: '2.0.0' }), token: ADMIN })).status).toBe(201);
    expect((await call('POST', '/fn/hit/')).text).toBe('41');
  });
});

describe('embedding', () => {
  it('serves sockets handed to its http.Server by another listener (the shared-port serve)', async () => {
    const { createServer } = await import('node:net');
    const g = await createGateway({ token: ADMIN, threads: 1, logger: silentLogger });
    const front = createServer((socket) => g.server.emit('connection', socket));
    try {
      await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
      const u = `http://127.0.0.1:${(front.address() as { port: number }).port}`;
      const d = await request(`${u}/v1/bundles/fnkit`, { method: 'PUT', body: fnkit, headers: { authorization: `Bearer ${ADMIN}` } });
      expect(d.statusCode).toBe(201);
      await d.body.dump();
      const r = await request(`${u}/fn/echo/x`, { method: 'POST', body: 'via front' });
      expect(await r.body.text()).toBe('POST /x|via front');
    } finally {
      front.close();
      await g.close();
    }
  });
});
