// Tiny functions on the gateway's network thread (engine/http/inline-functions.ts), against a real gateway.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Pool, request } from 'undici';
import { createGateway, type Gateway } from '../engine/http/gateway.ts';
import { silentLogger } from '../engine/http/log.ts';
import { buildFixture, ROOT, variant } from './http-fixtures.ts';
import { servedUrl } from './helpers/cli.ts';

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

  it('answers bodiless requests on the network thread with the same bytes, and counts them like any run', async () => {
    expect((await request(`${url}/v1/bundles/getkit`, { method: 'PUT', body: variant(fnkit, { name: 'getkit', limits: { memoryPages: 64, fuel: 1_000_000 }, functions: [{ name: 'gecho', export: 'echo' }, { name: 'gboom', export: 'boom' }] }) })).statusCode).toBe(201);
    const get = async (path: string, headers: Record<string, string> = {}) => {
      const r = await request(url + path, { headers });
      return { status: r.statusCode, type: r.headers['content-type'], text: await r.body.text() };
    };
    const stats = async () => (await (await request(`${url}/v1/stats`)).body.json()) as { inlineRuns: number; bundles: Record<string, { calls: number; errors: number; fuel: number }>; tenants: Record<string, { completed: number }> };
    const first = await get('/fn/gecho/a/b?q=1'); // on a worker: nothing measured yet
    const before = await stats();
    const inlineBefore = gw.executor.inline!.runs;
    // Warm-up runs on the workers, then the network thread's fast path; a declared empty body takes it too.
    for (let i = 0; i < 40; i++) expect(await get('/fn/gecho/a/b?q=1', i % 2 ? { 'content-length': '0' } : {})).toEqual(first);
    expect(first).toEqual({ status: 200, type: 'text/plain; charset=utf-8', text: 'GET /a/b?q=1|' });
    // 64 at once over 16 connections: each answered once, with its own path.
    const pool = new Pool(url, { connections: 16 });
    try {
      const texts = await Promise.all(Array.from({ length: 64 }, async (_, i) => (await (await pool.request({ path: `/fn/gecho/n${i}`, method: 'GET' })).body.text())));
      texts.forEach((t, i) => expect(t).toBe(`GET /n${i}|`));
    } finally {
      await pool.close();
    }
    const after = await stats();
    expect(gw.executor.inline!.runs - inlineBefore).toBeGreaterThan(50);
    expect(after.inlineRuns).toBe(gw.executor.inline!.runs);
    // Every run counted once: per-bundle calls and fuel, the tenant's completions, Prometheus.
    expect(after.bundles.getkit!.calls - before.bundles.getkit!.calls).toBe(104);
    expect(after.bundles.getkit!.fuel).toBeGreaterThan(before.bundles.getkit!.fuel);
    expect(after.tenants.default!.completed - before.tenants.default!.completed).toBe(104);
    const metrics = await (await request(`${url}/metrics`)).body.text();
    expect(metrics).toMatch(/roam_function_calls_total\{function="gecho",tenant="default"\} 105\b/);
    // A request that carries a body takes the queued path and still reaches the function whole.
    expect(await post(url, '/fn/gecho/p', 'body')).toEqual({ status: 200, text: 'POST /p|body' });
    const withBody = await request(`${url}/fn/gecho/p`, { method: 'GET', body: 'abc' });
    expect(await withBody.body.text()).toBe('GET /p|abc');
  });

  it('answers a bad response header made on the fast path with E_BAD_HEADER naming the function, and keeps serving', async () => {
    const before = gw.executor.inline!.runs;
    // echo copies x-roam-from into x-from. Sent as the bytes E2 82 AC (latin1 on the wire, as HTTP has it),
    // the guest reads them as UTF-8: '€', a character no HTTP response header can carry.
    const r = await request(`${url}/fn/gecho/x`, { headers: { 'x-roam-from': '\u00e2\u0082\u00ac' } });
    const body = (await r.body.json()) as { error: string; message: string };
    expect(r.statusCode).toBe(500);
    expect(body.error).toBe('E_BAD_HEADER');
    expect(body.message).toContain("function 'gecho'");
    expect(gw.executor.inline!.runs).toBe(before + 1);
    const ok = await request(`${url}/fn/gecho/y`, { headers: { 'x-roam-from': 'cafe' } });
    expect(ok.headers['x-from']).toBe('cafe');
    expect(await ok.body.text()).toBe('GET /y|');
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

describe('guest log lines of roam serve', () => {
  it('reach stderr once each and in order when the function runs on the network thread', async () => {
    const file = join(tmpdir(), `roam-inline-log-${process.pid}.wasm`);
    writeFileSync(file, await buildFixture('functions/hello'));
    // The server's log is its stdout (engine/observe/log.ts); human lines asked for, as on a terminal.
    const server = spawn(process.execPath, [join(ROOT, 'bin/roam.js'), 'serve', '--no-auth', '--port', '0', '--threads', '1', '--workers', '1', '--bundle', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ROAM_LOG_FORMAT: 'human' } });
    let log = '';
    server.stdout!.on('data', (c) => void (log += c));
    try {
      const url = await servedUrl(server);
      const pool = new Pool(url, { connections: 8 });
      try {
        // hello's greet logs "greet NAME" on every call: 40 concurrent calls warm it up (the first 32 run on
        // the worker), then 40 one after the other run on the network thread.
        const greet = async (n: string) => expect(JSON.parse(await (await pool.request({ path: `/fn/greet/${n}`, method: 'GET' })).body.text())).toEqual({ greeting: `hello, ${n}`, method: 'GET' });
        for (let round = 0; round < 5; round++) await Promise.all(Array.from({ length: 8 }, (_, i) => greet(`p${round * 8 + i}`)));
        for (let i = 40; i < 80; i++) await greet(`p${i}`);
        const stats = (await (await pool.request({ path: '/v1/stats', method: 'GET' })).body.json()) as { inlineRuns: number };
        expect(stats.inlineRuns).toBeGreaterThan(0);
      } finally {
        await pool.close();
      }
      await vi.waitFor(() => expect(log.match(/\[hello\] info: greet p\d+\n/g)?.length).toBe(80), { timeout: 10_000, interval: 20 });
      const seen = [...log.matchAll(/\[hello\] info: greet p(\d+)\n/g)].map((m) => Number(m[1]));
      // Once each, and the calls made one after the other in the order they were made (a worker's lines reach
      // stdout through the main thread, so the warm-up's may come later).
      expect(new Set(seen).size).toBe(80);
      expect(seen.filter((n) => n >= 40)).toEqual(Array.from({ length: 40 }, (_, i) => 40 + i));
    } finally {
      server.kill('SIGTERM');
    }
  }, 120_000);
});
