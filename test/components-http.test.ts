// Component bundles through the real gateway: PUT /v1/bundles/:name with a component, served at /fn/:name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createGateway, type Gateway } from '../engine/http/gateway.ts';
import { silentLogger } from '../engine/http/log.ts';
import { componentOf, faultyWat, watComponent } from './helpers/components.ts';

const ADMIN = 'admin-secret';
let gw: Gateway;
let url: string;

async function call(method: string, path: string, body?: Uint8Array | string) {
  const r = await request(url + path, { method: method as 'GET', headers: { authorization: `Bearer ${ADMIN}` }, ...(body !== undefined ? { body } : {}) });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, text };
}

beforeAll(async () => {
  gw = await createGateway({ token: ADMIN, threads: 1, timeoutMs: 500, logger: silentLogger });
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

  it('a trap and a hang each answer 500 with the reason, and the gateway keeps serving', async () => {
    const faulty = await watComponent(faultyWat(), { name: 'faulty', functions: [{ name: 'faulty' }], limits: { memoryPages: 4 } });
    expect((await call('PUT', '/v1/bundles/faulty', faulty)).status).toBe(201);
    const trap = await call('GET', '/fn/faulty/trap');
    expect(trap.status).toBe(500);
    expect(JSON.parse(trap.text)).toMatchObject({ error: 'E_TRAP', message: expect.stringMatching(/unreachable/) });
    const hang = await call('GET', '/fn/faulty/spin');
    expect(hang.status).toBe(500);
    expect(JSON.parse(hang.text)).toMatchObject({ error: 'E_TIMEOUT', message: expect.stringMatching(/time limit of 500 ms/) });
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
