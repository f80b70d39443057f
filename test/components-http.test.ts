// Component bundles through the real gateway: PUT /v1/bundles/:name with a component, served at /fn/:name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createGateway, type Gateway } from '../engine/http/gateway.ts';
import { silentLogger } from '../engine/http/log.ts';
import { componentOf, faultyWat, watComponent } from './helpers/components.ts';
import { roam } from './helpers/cli.ts';
import { ROOT } from './helpers/build.ts';
import { join } from 'node:path';

const ADMIN = 'admin-secret';
let gw: Gateway;
let url: string;

async function call(method: string, path: string, body?: Uint8Array | string, headers: Record<string, string> = {}) {
  const r = await request(url + path, { method: method as 'GET', headers: { authorization: `Bearer ${ADMIN}`, ...headers }, ...(body !== undefined ? { body } : {}) });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, text };
}

beforeAll(async () => {
  // componentize-js takes 40 s or more per project on a fresh machine: start these builds now.
  for (const p of ['functions/hello-http', 'test/fixtures/components/faulty-http']) void componentOf(p).catch(() => {});
  // 3 s: a StarlingMonkey component's first call compiles much of its 12 MB engine (about 0.6 s here, more under load).
  gw = await createGateway({ token: ADMIN, threads: 1, timeoutMs: 3000, logger: silentLogger });
  url = await gw.listen(0);
});
afterAll(async () => {
  await gw?.close();
});

describe('component functions behind the gateway', () => {
  it('deploys a WAT component and a componentized TS handler and serves both at /fn/:name', async () => {
    const wat = await call('PUT', '/v1/bundles/hello-wat', await componentOf('functions/hello-wat'));
    expect(wat.status).toBe(201);
    expect(JSON.parse(wat.text)).toMatchObject({ name: 'hello-wat', functions: ['hello-wat'] });
    expect(await call('GET', '/fn/hello-wat/ada')).toMatchObject({ status: 200, text: 'hello, ada' });

    expect((await call('PUT', '/v1/bundles/hello-ts', await componentOf('functions/hello-ts'))).status).toBe(201);
    const ts = await call('POST', '/fn/hello-ts/grace', 'ignored');
    expect(ts.status).toBe(200);
    expect(ts.headers['content-type']).toBe('application/json');
    expect(JSON.parse(ts.text)).toEqual({ greeting: 'hello, grace', method: 'POST' });
  }, 300_000); // componentize-js on a fresh machine (shared with components.test.ts through a lock)

  it('answers 400 naming the interface for an undeclared WASI import, 400 for a malformed component', async () => {
    const fs = await watComponent('(component (import "wasi:sockets/tcp@0.2.3" (instance)))', { name: 'net', functions: [{ name: 'net' }] }, true);
    const r = await call('PUT', '/v1/bundles/net', fs);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toMatchObject({ error: 'E_CAPABILITY', message: expect.stringMatching(/wasi:sockets\/tcp@0\.2\.3.*capability 'wasi:sockets'/) });
    const good = await componentOf('functions/hello-wat');
    const bad = await call('PUT', '/v1/bundles/hello-wat', good.subarray(0, 100));
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error).toBe('E_MALFORMED');
  });

  it('a trap and an infinite loop each answer 500 with the reason (the loop runs out of fuel), and the gateway keeps serving', async () => {
    const faulty = await watComponent(faultyWat(), { name: 'faulty', functions: [{ name: 'faulty' }], limits: { memoryPages: 4 } });
    const put = await call('PUT', '/v1/bundles/faulty', faulty);
    expect(put.status).toBe(201);
    expect(JSON.parse(put.text).timeLimit).toMatchObject({ mode: 'fuel', metered: ['component.core.wasm'] });
    const trap = await call('GET', '/fn/faulty/trap');
    expect(trap.status).toBe(500);
    expect(JSON.parse(trap.text)).toMatchObject({ error: 'E_TRAP', message: expect.stringMatching(/unreachable/) });
    const hang = await call('GET', '/fn/faulty/spin');
    expect(hang.status).toBe(500);
    expect(JSON.parse(hang.text)).toMatchObject({ error: 'E_FUEL', message: expect.stringMatching(/fuel exhausted/) });
    expect(await call('GET', '/fn/faulty/ok')).toMatchObject({ status: 200, text: 'ok' });
    expect(await call('GET', '/fn/hello-wat/still')).toMatchObject({ status: 200, text: 'hello, still' });
    const stats = JSON.parse((await call('GET', '/v1/stats')).text);
    expect(stats.bundles.faulty).toMatchObject({ calls: 3, errors: 2 });
  });

  it('removing a component stops serving it', async () => {
    expect((await call('DELETE', '/v1/bundles/faulty')).status).toBe(200);
    expect((await call('GET', '/fn/faulty/ok')).status).toBe(404);
  });
});

describe('wasi:http components behind the gateway', () => {
  it('deploys a wasi:http/incoming-handler component and round-trips method, path, headers and body', async () => {
    const put = await call('PUT', '/v1/bundles/hello-http', await componentOf('functions/hello-http'));
    expect(put.status).toBe(201);
    // every looping core module, StarlingMonkey's engine included, is fuel-metered, and the reply says so
    expect(JSON.parse(put.text)).toMatchObject({ name: 'hello-http', functions: ['hello-http'], timeLimit: { mode: 'fuel', fuel: 1_000_000_000 } });
    const post = await call('POST', '/fn/hello-http/ada?x=1', 'a body', { 'x-echo': 'back' });
    expect(post.status, post.text).toBe(201);
    expect(post.headers['content-type']).toBe('application/json');
    expect(post.headers['x-echo']).toBe('back');
    expect(JSON.parse(post.text)).toEqual({ greeting: 'hello, ada', method: 'POST', body: 'a body' });
    // one instance serves request after request
    for (const who of ['b', 'c', 'd']) expect(JSON.parse((await call('GET', `/fn/hello-http/${who}`)).text)).toEqual({ greeting: `hello, ${who}`, method: 'GET' });
  }, 300_000);

  it('a trapping handler answers 500 with the reason, a JS infinite loop runs out of fuel, and serving goes on', async () => {
    expect((await call('PUT', '/v1/bundles/faulty-http', await componentOf('test/fixtures/components/faulty-http'))).status).toBe(201);
    expect(await call('GET', '/fn/faulty-http/ok')).toMatchObject({ status: 200, text: 'ok' });
    const thrown = await call('GET', '/fn/faulty-http/throw');
    expect(thrown.status).toBe(500);
    expect(JSON.parse(thrown.text)).toMatchObject({ error: 'E_TRAP', message: expect.stringMatching(/unreachable/) });
    const silent = await call('GET', '/fn/faulty-http/silent');
    expect(silent).toMatchObject({ status: 500, text: 'wasi:http handler failed: the handler returned without setting a response' });
    const hang = await call('GET', '/fn/faulty-http/spin');
    expect(hang.status).toBe(500);
    expect(JSON.parse(hang.text)).toMatchObject({ error: 'E_FUEL', message: expect.stringMatching(/fuel exhausted/) });
    expect(await call('GET', '/fn/faulty-http/ok')).toMatchObject({ status: 200, text: 'ok' });
    expect(JSON.parse((await call('GET', '/fn/hello-http/still')).text)).toMatchObject({ greeting: 'hello, still' });
  }, 300_000);

  it('roam deploy builds a wasi:http project directory, uploads it and reports fuel as its time limit', async () => {
    await componentOf('functions/hello-http'); // the componentize cache the CLI's build reuses
    const r = await roam(['deploy', join(ROOT, 'functions/hello-http'), '--server', url, '--token', ADMIN]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/deployed hello-http@1\.0\.0 .*functions: hello-http .*component time limit: fuel/);
    expect(JSON.parse((await call('GET', '/fn/hello-http/cli')).text)).toMatchObject({ greeting: 'hello, cli' });
  }, 300_000);
});
