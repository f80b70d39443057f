import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, RoamError, encodeRequest, decodeResponse, type Deployment } from '../engine/index.ts';
import { createGpuCapability } from '../engine/capabilities/gpu.ts';
import { GpuService, type GpuClient } from '../engine/gpu/bridge/client.ts';
import { webgpuGate, withoutVulkanDriver } from './gpu-webgpu-gate.ts';
import { reference, samples, weights } from '../functions/mlp/model.ts';
import { bundleOf, ROOT } from './helpers/build.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { weightsSource } from '../functions/mlp/gen-weights.ts';

const f32 = (b: Uint8Array) => new Float32Array(b.slice().buffer);
const MODEL = weights();

/** An engine whose roam:gpu runs on its own gpu service (so tests don't share the process-wide one). */
function engineOn(service: GpuService): Engine {
  let client: GpuClient | undefined;
  return new Engine({ capabilities: [createGpuCapability(() => (client ??= service.connect()))] });
}

function failure(d: Deployment, name: string, input = new Uint8Array(0)): RoamError {
  try {
    d.call(name, input);
  } catch (e) {
    expect(e).toBeInstanceOf(RoamError);
    return e as RoamError;
  }
  throw new Error(`expected '${name}' to fail`);
}

function expectClose(actual: Float32Array, expected: Float64Array, tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(Math.abs(actual[i]! - expected[i]!), `element ${i}`).toBeLessThan(tol);
}

describe('functions/mlp weights', () => {
  it('ships exactly the weights the seeded generator produces', () => {
    expect(readFileSync(join(ROOT, 'functions/mlp/assembly/weights.ts'), 'utf8')).toBe(weightsSource());
  });
});

describe('functions/mlp through the engine on the cpu device', () => {
  let service: GpuService;
  let mlp: Deployment;
  let misuse: Deployment;
  beforeAll(async () => {
    service = new GpuService({ device: 'cpu', threads: 2 });
    const engine = engineOn(service);
    mlp = engine.deploy(await bundleOf('functions/mlp'));
    misuse = engine.deploy(await bundleOf('test/fixtures/gpu-misuse'));
  });
  afterAll(() => service.close());

  it('says it runs on the cpu executor', () => {
    expect(new TextDecoder().decode(mlp.invoke('device', new Uint8Array(0)))).toBe('cpu');
  });

  it('gives the float64 reference answers for a batch of inputs', () => {
    const x = samples(5);
    expectClose(f32(mlp.invoke('infer', new Uint8Array(x.buffer))), reference(MODEL, x, 5), 1e-5);
  });

  it('answers over the function ABI with the reference classes', () => {
    const x = samples(4, 11);
    const res = decodeResponse(mlp.invoke('predict', encodeRequest({ method: 'POST', path: '/', headers: [], body: new Uint8Array(x.buffer) })));
    const ref = reference(MODEL, x, 4);
    const classes = [0, 1, 2, 3].map((r) => { const row = Array.from(ref.subarray(r * 4, r * 4 + 4)); return row.indexOf(Math.max(...row)); });
    expect(res.status).toBe(200);
    expect(JSON.parse(Buffer.from(res.body).toString())).toEqual({ device: 'cpu', classes });
  });

  it('refuses a malformed input with a clear error', () => {
    expect(failure(mlp, 'infer', new Uint8Array(10)).message).toMatch(/failed with code 400: input must be a whole number of rows of 16 f32/);
  });

  it('traps each gpu misuse with a clear error, frees what the call held, and leaves other functions working', () => {
    const cases: Array<[string, RegExp]> = [
      ['oob', /^'oob': kernel matmul: buffer 0 holds 16 bytes but \(m, k, n\) = \(8, 8, 8\) needs 256$/],
      ['bigbuf', /^'bigbuf': gpu memory cap: function 'default\/gpu-misuse' holds 4096 bytes and asked for 2097152 more, over its 1 MiB$/],
      ['wgsl', /^'wgsl': malformed WGSL kernel: '\{' opened on line 1 is never closed$/],
      ['foreign', /^'foreign': gpu buffer 999999 does not exist/],
    ];
    const codes = ['E_GPU_BOUNDS', 'E_GPU_MEMORY', 'E_GPU_WGSL', 'E_GPU_BUFFER'];
    const x = samples(2);
    cases.forEach(([name, re], i) => {
      const e = failure(misuse, name);
      expect(e.code).toBe(codes[i]);
      expect(e.message).toMatch(re);
      expectClose(f32(mlp.invoke('infer', new Uint8Array(x.buffer))), reference(MODEL, x, 2), 1e-5);
    });
    expect(new TextDecoder().decode(misuse.invoke('ok', new Uint8Array(0)))).toBe('ok');
    const mem = service.connect().call('stats').memory.find((m) => m.id === 'default/gpu-misuse')!;
    expect(mem).toMatchObject({ liveBuffers: 0, liveBytes: 0 });
  });

  it('holds no more device memory after many invocations than after the first', () => {
    const x = samples(8, 3);
    mlp.invoke('infer', new Uint8Array(x.buffer));
    const client = service.connect();
    const before = client.call('stats');
    for (let i = 0; i < 150; i++) mlp.invoke('infer', new Uint8Array(x.buffer));
    const after = client.call('stats');
    expect(after.counters.liveBuffers).toBe(before.counters.liveBuffers);
    expect(after.counters.liveBytes).toBe(before.counters.liveBytes);
    // Weights (6) and activations (10, sized for the largest batch so far) stay; nothing else is made.
    expect(after.counters.buffersCreated).toBe(before.counters.buffersCreated);
    expect(after.memory.find((m) => m.id === 'default/mlp')!.liveBuffers).toBe(16);
    // A bigger batch replaces the activations rather than adding to them.
    mlp.invoke('infer', new Uint8Array(samples(64).buffer));
    expect(client.call('stats').memory.find((m) => m.id === 'default/mlp')!.liveBuffers).toBe(16);
    const fn = after.scheduler.functions.find((f) => f.id === 'default/mlp')!;
    expect(fn.failed).toBe(0);
  });
});

const gate = webgpuGate('gpu-capability.test');

describe('a function forced onto webgpu where there is no adapter', () => {
  it('fails its gpu calls with the reason, not a hang', async () => {
    // The Vulkan driver is hidden from this service's device process, so the path runs everywhere.
    const service = withoutVulkanDriver(() => new GpuService({ device: 'webgpu' }));
    try {
      const d = engineOn(service).deploy(await bundleOf('functions/mlp'));
      const e = failure(d, 'device');
      expect(e.code).toBe('E_GPU_NO_DEVICE');
      expect(e.message).toMatch(/^'device': webgpu device unavailable: no WebGPU adapter/);
    } finally {
      await service.close();
    }
  });
});

describe.skipIf(gate.skip)(`functions/mlp on webgpu (${gate.title})`, () => {
  it('gives the same answers as the reference (and so as the cpu device) within float tolerance', async () => {
    const service = new GpuService({ device: 'webgpu' });
    try {
      const d = engineOn(service).deploy(await bundleOf('functions/mlp'));
      expect(new TextDecoder().decode(d.invoke('device', new Uint8Array(0)))).toBe('webgpu');
      const x = samples(16, 5);
      expectClose(f32(d.invoke('infer', new Uint8Array(x.buffer))), reference(MODEL, x, 16), 1e-4);
    } finally {
      await service.close();
    }
  });
});
