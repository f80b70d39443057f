// Tiny functions on the gateway's network thread (engine/http/inline-functions.ts), against a real gateway.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createGateway, type Gateway } from '../engine/http/gateway.ts';
import { silentLogger } from '../engine/http/log.ts';
import { buildFixture, variant } from './http-fixtures.ts';

let fnkit: Uint8Array;
beforeAll(async () => {
  fnkit = await buildFixture('test/fixtures/fnkit');
});

async function post(url: string, path: string, body: string) {
  const r = await request(url + path, { method: 'POST', body });
  return { status: r.statusCode, text: await r.body.text() };
}

describe('functions on the network thread', () => {
  let gw: Gateway;
  let url: string;
  beforeAll(async () => {
    gw = await createGateway({ token: null, threads: 1, logger: silentLogger, inline: { warmRuns: 8 } });
    url = await gw.listen(0);
  });
  afterAll(() => gw.close());

  it('runs a function measured tiny on the workers inline, with the same answers', async () => {
    // fnkit allows 1e8 fuel per call; with 1e6 it may run here (a call can burn at most that on this thread).
    expect((await request(`${url}/v1/bundles/small`, { method: 'PUT', body: variant(fnkit, { name: 'small', limits: { memoryPages: 64, fuel: 1_000_000 } }) })).statusCode).toBe(201);
    for (let i = 0; i < 40; i++) expect(await post(url, '/fn/echo/p', `n${i}`)).toEqual({ status: 200, text: `POST /p|n${i}` });
    expect(gw.executor.inline!.runs).toBeGreaterThan(0);
    // A failing call inline answers like one on a worker.
    const boom = await post(url, '/fn/boom', '');
    expect(boom.status).toBeGreaterThanOrEqual(400);
  });

  it('keeps a function with a large fuel budget on the workers (the watchdog cannot reach the network thread)', async () => {
    expect((await request(`${url}/v1/bundles/big`, { method: 'PUT', body: variant(fnkit, { name: 'big', functions: [{ name: 'echo2', export: 'echo' }] }) })).statusCode).toBe(201);
    const before = gw.executor.inline!.runs;
    for (let i = 0; i < 30; i++) expect((await post(url, '/fn/echo2/q', 'x')).status).toBe(200);
    expect(gw.executor.inline!.runs).toBe(before);
  });
});

describe('with inlining off', () => {
  it('never runs a function on the network thread', async () => {
    const gw = await createGateway({ token: null, threads: 1, logger: silentLogger, inline: false });
    try {
      const url = await gw.listen(0);
      await request(`${url}/v1/bundles/small`, { method: 'PUT', body: variant(fnkit, { name: 'small', limits: { memoryPages: 64, fuel: 1_000_000 } }) });
      for (let i = 0; i < 40; i++) expect((await post(url, '/fn/echo/p', 'x')).status).toBe(200);
      expect(gw.executor.inline).toBeNull();
    } finally {
      await gw.close();
    }
  });
});
