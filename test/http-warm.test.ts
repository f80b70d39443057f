// Cold start: a deploy hands the compiled module and the run plan to every worker, which instantiate it
// before the first call comes (the first call then carries nothing over and waits for no instantiation).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { request } from 'undici';
import { createGateway, type Gateway } from '../engine/http/gateway.ts';
import { silentLogger } from '../engine/http/log.ts';
import { buildFixture, variant } from './http-fixtures.ts';

let gw: Gateway;
let url: string;
let fnkit: Uint8Array;
const auth = { authorization: 'Bearer adm' };

beforeAll(async () => {
  fnkit = await buildFixture('test/fixtures/fnkit');
  gw = await createGateway({ token: 'adm', threads: 2, logger: silentLogger });
  url = await gw.listen(0); // the workers may still be starting: one that starts after a deploy asks for it
});
afterAll(async () => {
  await gw?.close();
});

const deploy = async (bytes: Uint8Array) => {
  const r = await request(`${url}/v1/bundles/fnkit`, { method: 'PUT', body: bytes, headers: auth });
  expect(r.statusCode, await r.body.text()).toBe(201);
};

describe('deploy warms the workers', () => {
  it('has every worker instantiate a new bundle before its first call', async () => {
    await deploy(fnkit);
    await vi.waitFor(() => expect(gw.warmed('echo')).toBe(2), { timeout: 20_000, interval: 20 });
    const r = await request(`${url}/fn/echo/`, { method: 'POST', body: 'hi' });
    expect(r.statusCode).toBe(200);
    expect(await r.body.text()).toBe('POST /|hi');
  });

  it('warms a new version of the bundle too, and serves it at once', async () => {
    await deploy(variant(fnkit, { version: '2.0.0', functions: [{ name: 'echo', export: 'upper' }] }));
    await vi.waitFor(() => expect(gw.warmed('echo')).toBe(2), { timeout: 20_000, interval: 20 });
    const r = await request(`${url}/fn/echo/`, { method: 'POST', body: 'hi' });
    expect(await r.body.text()).toBe('HI');
  });
});
