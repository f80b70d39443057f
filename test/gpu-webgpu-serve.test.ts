// functions/mlp on the webgpu device through the real CLI: `roam run` (it segfaulted, issue 14) and
// `roam serve`, where a crash of the device process must cost the calls in flight, not the server.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedBuild } from '../engine/build/cached-build.ts';
import { reference, samples, weights } from '../functions/mlp/model.ts';
import { ROOT } from './helpers/build.ts';
import { roam, servedUrl } from './helpers/cli.ts';
import { webgpuGate } from './gpu-webgpu-gate.ts';

const gate = webgpuGate('gpu-webgpu-serve.test');
const TOKEN = 'gpu-webgpu-secret';
const auth = { authorization: `Bearer ${TOKEN}` };

/** Classes the float64 reference model gives for `rows` rows. */
function referenceClasses(x: Float32Array, rows: number): number[] {
  const p = reference(weights(), x, rows);
  return Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let j = 1; j < 4; j++) if (p[r * 4 + j]! > p[r * 4 + best]!) best = j;
    return best;
  });
}

/** Pids of the device processes a server started (children running device-process.mjs). */
function deviceProcesses(parent: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('device-process.mjs')) out.push(Number(d));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

describe.skipIf(gate.skip)(`functions/mlp on webgpu through the CLI (${gate.title})`, () => {
  let wasm: string;
  let server: ChildProcess | undefined;
  let serverErr = '';
  const agent = new Agent({ keepAliveTimeout: 1000, keepAliveMaxTimeout: 1000 });
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roam-gpu-'));
    wasm = join(dir, 'mlp.wasm');
    writeFileSync(wasm, await cachedBuild(join(ROOT, 'functions/mlp')));
  });
  afterAll(async () => {
    await agent.close();
    server?.kill('SIGKILL');
    if (serverErr.trim()) console.log(`roam serve stderr:\n${serverErr.slice(-3000)}`);
  });

  it('roam run predict answers like the float64 reference on webgpu, exit 0, without Dawn\'s warnings (regression: segfault, exit 139)', async () => {
    const x = new Float32Array(16).fill(0.3);
    const body = join(tmpdir(), `roam-x-${process.pid}.bin`);
    writeFileSync(body, new Uint8Array(x.buffer));
    const r = await roam(['run', wasm, '--function', 'predict', '--method', 'POST', '--body', `@${body}`], { env: { ROAM_GPU_DEVICE: 'webgpu', ROAM_GPU_DEBUG: '' } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.slice(r.stdout.indexOf('{')))).toEqual({ device: 'webgpu', classes: referenceClasses(x, 1) });
    expect(r.stderr).not.toMatch(/artificially reduced|Warning/);
  });

  it('lets Dawn\'s stderr through when asked (ROAM_GPU_DEBUG=1)', async () => {
    const r = await roam(['run', wasm, '--handler', 'device'], { env: { ROAM_GPU_DEVICE: 'webgpu', ROAM_GPU_DEBUG: '1' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('webgpu');
    // Dawn says something while opening lavapipe; a hardware driver may say nothing.
    for (const line of gate.probe.dawnLog) expect(r.stderr).toContain(line);
  });

  it('roam serve keeps serving when the device process dies: the calls in flight fail with E_GPU_DEVICE_LOST, later ones succeed', async () => {
    server = spawn(process.execPath, [join(ROOT, 'bin/roam.js'), 'serve', '--port', '0', '--threads', '2'], {
      env: { ...process.env, ROAM_TOKEN: TOKEN, ROAM_GPU_DEVICE: 'webgpu' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stderr!.on('data', (c) => (serverErr += c));
    const url = await servedUrl(server);
    const put = await request(`${url}/v1/bundles/mlp`, { method: 'PUT', headers: auth, body: readFileSync(wasm), dispatcher: agent });
    expect(put.statusCode, await put.body.text()).toBe(201);
    const x = samples(8, 11);
    const predict = async () => {
      const r = await request(`${url}/fn/predict/`, { method: 'POST', body: Buffer.from(x.buffer), dispatcher: agent });
      return { status: r.statusCode, text: await r.body.text() };
    };
    const first = await predict();
    expect(first.status, first.text).toBe(200);
    expect(JSON.parse(first.text)).toEqual({ device: 'webgpu', classes: referenceClasses(x, 8) });

    const [pid] = deviceProcesses(server.pid!);
    expect(pid, 'the server runs Dawn in a child process').toBeGreaterThan(0);
    process.kill(pid!, 'SIGKILL');
    // Calls until one succeeds again: each either answers correctly or fails with the loss, never anything else.
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await predict();
      if (r.status === 200) {
        expect(JSON.parse(r.text)).toEqual({ device: 'webgpu', classes: referenceClasses(x, 8) });
        outcomes.push('ok');
        if (outcomes.filter((o) => o === 'ok').length >= 2) break;
      } else {
        expect(r.text).toMatch(/E_GPU_DEVICE_LOST|lost/);
        outcomes.push('lost');
      }
    }
    expect(outcomes.slice(-2)).toEqual(['ok', 'ok']);
    expect(server.exitCode).toBeNull();
    const [again] = deviceProcesses(server.pid!);
    expect(again).toBeGreaterThan(0);
    expect(again).not.toBe(pid);
  });
});
