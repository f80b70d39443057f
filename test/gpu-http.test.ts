// GPU fairness and utilisation statistics through a real `roam serve`: functions run in the gateway's
// worker threads, the gpu service on its main thread; /v1/stats and /metrics report per function.
import { servedUrl } from './helpers/cli.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBundle, embedManifest } from '../engine/bundle/bundle.ts';
import { samples } from '../functions/mlp/model.ts';
import { cachedBuild } from '../engine/build/cached-build.ts';
import { ROOT } from './helpers/build.ts';

const TOKEN = 'gpu-secret';
let server: ChildProcess;
let url: string;
/** The server's stderr, shown if a request fails. */
let serverErr = '';
const auth = { authorization: `Bearer ${TOKEN}` };
// Idle connections close on our side after 1 s, well before the server's 5 s keep-alive timeout: a
// slow step (building the bundle on a loaded machine) must not leave a socket the server is closing.
const agent = new Agent({ keepAliveTimeout: 1000, keepAliveMaxTimeout: 1000 });

async function http(method: 'GET' | 'PUT' | 'POST', path: string, body?: Uint8Array, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const r = await request(url + path, { method, headers, dispatcher: agent, ...(body ? { body: Buffer.from(body) } : {}) });
  return { status: r.statusCode, text: await r.body.text() };
}

beforeAll(async () => {
  const tenantsFile = join(mkdtempSync(join(tmpdir(), 'roam-gpu-http-')), 'tenants.json');
  writeFileSync(tenantsFile, JSON.stringify({ tenants: { shop: { weight: 1, token: 'shop-token' } } }));
  server = spawn(process.execPath, [join(ROOT, 'bin/roam.js'), 'serve', '--port', '0', '--threads', '2', '--tenants', tenantsFile], {
    env: { ...process.env, ROAM_TOKEN: TOKEN, ROAM_GPU_DEVICE: 'cpu', ROAM_GPU_THREADS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stderr!.on('data', (c) => (serverErr += c));
  url = await servedUrl(server);
});
afterAll(async () => {
  await agent.close();
  server?.kill('SIGKILL');
  if (serverErr.trim()) console.log(`roam serve stderr:\n${serverErr.slice(-4000)}`);
});

async function deploy(bytes: Uint8Array, name: string): Promise<void> {
  const r = await http('PUT', `/v1/bundles/${name}`, bytes, auth);
  expect(r.status, r.text).toBe(201);
}

const stats = async () => JSON.parse((await http('GET', '/v1/stats', undefined, auth)).text) as { gpu: any };

describe('gpu statistics over HTTP (roam serve)', () => {
  it('reports no gpu before any function used it', async () => {
    expect((await stats()).gpu).toBeNull();
  });

  it('reports granted share, busy and queued time, p99, memory and rejections per function in /v1/stats and /metrics', async () => {
    const mlp = await cachedBuild(join(ROOT, 'functions/mlp')); // rebuilt only when its sources changed (asc is slow)
    const b = readBundle(mlp);
    await deploy(mlp, 'mlp');
    await deploy(embedManifest(b.bytes, { ...b.manifest, name: 'mlp-low', functions: [{ name: 'predict-low', export: 'predict' }], sections: { gpu: { share: 0.2, memoryMiB: 16, latencyMs: 5 } } }), 'mlp-low');
    const body = new Uint8Array(samples(4, 3).buffer);
    // One call each first: the first gpu call of the process starts the gpu service.
    for (const fn of ['predict', 'predict-low']) {
      const r = await http('POST', `/fn/${fn}/`, body);
      expect(r.status, r.text).toBe(200);
    }
    // Concurrent calls: both gateway worker threads run guests against the one gpu service.
    const calls = await Promise.all(Array.from({ length: 24 }, (_, i) => http('POST', `/fn/${i % 2 ? 'predict-low' : 'predict'}/`, body).then((r) => [r.status, JSON.parse(r.text)])));
    for (const [status, json] of calls) {
      expect(status, JSON.stringify(json)).toBe(200);
      expect(json).toMatchObject({ device: 'cpu' });
    }
    const gpu = (await stats()).gpu;
    expect(gpu.device).toMatchObject({ kind: 'cpu', label: expect.stringMatching(/^cpu executor/) });
    const fn = (id: string) => gpu.functions.find((f: { id: string }) => f.id === id);
    expect(fn('default/mlp')).toMatchObject({ share: 0.5, latencyMs: 20, completed: 13 * 9, failed: 0, rejections: { queueFull: 0, memory: 0 } });
    expect(fn('default/mlp-low')).toMatchObject({ share: 0.2, latencyMs: 5, completed: 13 * 9, failed: 0 });
    for (const id of ['default/mlp', 'default/mlp-low']) {
      const f = fn(id);
      expect(f.busyMs).toBeGreaterThan(0);
      expect(f.queuedMs).toBeGreaterThanOrEqual(0);
      expect(f.p99Ms).toBeGreaterThan(0);
      expect(f.achievedShare).toBeGreaterThanOrEqual(0);
      // Each worker's instance keeps the weights (6 buffers) and activations (10) between calls.
      expect(f.memoryBytes).toBeGreaterThan(0);
      expect(f.memoryCapBytes).toBe(16 * 2 ** 20);
    }
    expect(gpu.counters.liveBytes).toBe(fn('default/mlp').memoryBytes + fn('default/mlp-low').memoryBytes);

    const metrics = (await http('GET', '/metrics')).text;
    const L = (b: string) => `\\{tenant="default",bundle="${b}"\\}`;
    expect(metrics).toMatch(new RegExp(`^roam_gpu_share_ratio${L('mlp')} 0\\.5$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^roam_gpu_share_ratio${L('mlp-low')} 0\\.2$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^roam_gpu_dispatches_completed_total${L('mlp')} 117$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^roam_gpu_busy_seconds_total${L('mlp')} [0-9.e-]+$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^roam_gpu_queued_seconds_total${L('mlp-low')} [0-9.e-]+$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^roam_gpu_dispatch_duration_seconds_count${L('mlp')} 117$`, 'm'));
    expect(metrics).toMatch(/^roam_gpu_dispatch_duration_seconds_bucket\{tenant="default",bundle="mlp",le="\+Inf"\} 117$/m);
    expect(metrics).not.toMatch(/p99/);
    expect(metrics).toMatch(new RegExp(`^roam_gpu_memory_bytes${L('mlp')} ${fn('default/mlp').memoryBytes}$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^roam_gpu_queue_full_rejections_total${L('mlp')} 0$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^roam_gpu_memory_rejections_total${L('mlp')} 0$`, 'm'));
    expect(metrics).toMatch(/^roam_gpu_utilization_ratio [0-9.e-]+$/m);
    expect(metrics).toMatch(/^# TYPE roam_gpu_busy_seconds_total counter$/m);
  });
  it('changes a function\'s gpu quota at runtime over the control API, and refuses bad bodies, other tenants and unknown bundles', async () => {
    const put = (name: string, body: string, headers: Record<string, string> = auth) => http('PUT', `/v1/gpu/${name}`, new TextEncoder().encode(body), headers);
    const r = await put('mlp-low', '{"share":0.4,"latencyMs":7}');
    expect(r.status, r.text).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ function: 'default/mlp-low', quota: { share: 0.4, latencyMs: 7, memoryMiB: 16 } });
    // New calls (and any new instance registering its manifest's 0.2) run under the new quota.
    const body = new Uint8Array(samples(2, 9).buffer);
    for (let i = 0; i < 4; i++) expect((await http('POST', '/fn/predict-low/', body)).status).toBe(200);
    const fn = (await stats()).gpu.functions.find((f: { id: string }) => f.id === 'default/mlp-low');
    expect(fn).toMatchObject({ share: 0.4, latencyMs: 7 });
    expect((await http('GET', '/metrics')).text).toMatch(/^roam_gpu_share_ratio\{tenant="default",bundle="mlp-low"\} 0\.4$/m);
    expect((await put('mlp-low', '{"memoryMiB":32}')).status).toBe(200);
    expect((await stats()).gpu.functions.find((f: { id: string }) => f.id === 'default/mlp-low')).toMatchObject({ share: 0.4, memoryCapBytes: 32 * 2 ** 20 });

    for (const bad of ['{"share":0}', '{"share":1.5}', '{"latencyMs":-3}', '{"weight":2}', '{}', '[0.3]', 'share=0.3']) {
      const b = await put('mlp-low', bad);
      expect(b.status, bad).toBe(400);
      expect(JSON.parse(b.text).error).toBe('E_BAD_REQUEST');
    }
    expect((await put('mlp-low', '{"share":0.3}', {})).status).toBe(401);
    expect((await put('mlp-low', '{"share":0.3}', { authorization: 'Bearer shop-token' })).status).toBe(403);
    expect((await put('no-such-bundle', '{"share":0.3}')).status).toBe(404);
    expect((await http('GET', '/v1/gpu/mlp-low', undefined, auth)).status).toBe(405);
    // Nothing bad took effect.
    expect((await stats()).gpu.functions.find((f: { id: string }) => f.id === 'default/mlp-low')).toMatchObject({ share: 0.4, latencyMs: 7 });
  });
});
