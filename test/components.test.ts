import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ComponentFunction, embedComponentManifest, isComponent, parseComponent, verifyComponent } from '../engine/components/index.ts';
import { validateManifest } from '../engine/bundle/manifest.ts';
import type { FnRequest } from '../engine/runtime/http-abi.ts';
import { bundleOf, ROOT } from './helpers/build.ts';
import { componentOf, faultyWat, watComponent } from './helpers/components.ts';
import { roam } from './helpers/cli.ts';

const get = (path: string, extra: Partial<FnRequest> = {}): FnRequest => ({ method: 'GET', path, headers: [], body: new Uint8Array(), ...extra });
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
const open: ComponentFunction[] = [];
async function deploy(bytes: Uint8Array, opts: Parameters<typeof ComponentFunction.deploy>[1] = {}): Promise<ComponentFunction> {
  const fn = await ComponentFunction.deploy(bytes, opts);
  open.push(fn);
  return fn;
}
afterAll(async () => {
  await Promise.all(open.map((f) => f.close()));
});
// componentize-js takes 14 s (more under load) per JS project on a fresh machine: start both builds
// now, in parallel with the WAT tests; the tests that need them allow for the wait.
const COMPONENTIZE_MS = 300_000;
beforeAll(() => {
  void componentOf('functions/hello-ts').catch(() => {});
  void componentOf('test/fixtures/components/faulty-ts').catch(() => {});
});

describe('component bundles: recognition and the manifest section', () => {
  it('tells a component from a core module and carries the manifest in a component-level section', async () => {
    const core = await bundleOf('functions/hello');
    const comp = await componentOf('functions/hello-wat');
    expect(isComponent(core)).toBe(false);
    expect(isComponent(comp)).toBe(true);
    const info = parseComponent(comp);
    expect(info.exports).toContain('roam:function/handler@0.1.0');
    expect(info.imports).toContain('roam:function/log@0.1.0');
    const v = verifyComponent(comp);
    expect(v.manifest).toMatchObject({ name: 'hello-wat', capabilities: ['log'] });
    // re-embedding replaces the section instead of adding a second one
    const again = embedComponentManifest(comp, validateManifest({ ...v.manifest, version: '2.0.0' }));
    expect(verifyComponent(again).manifest.version).toBe('2.0.0');
    expect(parseComponent(again).customSections.get('roam.manifest')).toHaveLength(1);
  });

  it('refuses a component without a roam manifest', async () => {
    const tools = await import('@bytecodealliance/jco');
    const bare = await tools.parse('(component)');
    expect(() => verifyComponent(bare)).toThrow(/no 'roam\.manifest' custom section/);
  });
});

describe('component functions: serving requests', () => {
  it('serves the WAT hello component, forwarding its log lines', async () => {
    const lines: string[] = [];
    const fn = await deploy(await componentOf('functions/hello-wat'), { onLog: (l) => lines.push(l) });
    expect(text((await fn.call(get('/alice'))).body)).toBe('hello, alice');
    const r = await fn.call(get('/'));
    expect(r.status).toBe(200);
    expect(text(r.body)).toBe('hello, world');
    expect(lines).toContain('hello-wat called');
  });

  it('recycles its worker after recycleAfterCalls calls without dropping any', async () => {
    const fn = await deploy(await componentOf('functions/hello-wat'), { recycleAfterCalls: 3 });
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => fn.call(get(`/n${i}`))));
    expect(replies.map((r) => text(r.body))).toEqual(Array.from({ length: 10 }, (_, i) => `hello, n${i}`));
    expect(fn.stats.workersStarted).toBeGreaterThanOrEqual(3);
    // one at a time too (regression: the recycle once terminated the worker the triggering call was sent to)
    for (let i = 0; i < 7; i++) expect(text((await fn.call(get(`/s${i}`))).body)).toBe(`hello, s${i}`);
    expect(fn.stats.errors).toBe(0);
  });

  it('serves a plain TypeScript handler built with componentize-js', async () => {
    const lines: string[] = [];
    const fn = await deploy(await componentOf('functions/hello-ts'), { onLog: (l) => lines.push(l) });
    const r = await fn.call(get('/alice', { method: 'POST' }));
    expect(r.status).toBe(200);
    expect(r.headers).toContainEqual(['content-type', 'application/json']);
    expect(JSON.parse(text(r.body))).toEqual({ greeting: 'hello, alice', method: 'POST' });
    expect(lines).toContain('greet alice');
    // pipelined calls are answered in order
    const many = await Promise.all(['a', 'b', 'c', 'd'].map((w) => fn.call(get(`/${w}`))));
    expect(many.map((m) => JSON.parse(text(m.body)).greeting)).toEqual(['hello, a', 'hello, b', 'hello, c', 'hello, d']);
  }, COMPONENTIZE_MS);
});

describe('component functions: bad input', () => {
  it('refuses a component importing an undeclared WASI interface, naming it', async () => {
    const wat = '(component (import "wasi:sockets/tcp@0.2.3" (instance)))';
    const undeclared = await watComponent(wat, { name: 'net', functions: [{ name: 'net' }] }, true);
    expect(() => verifyComponent(undeclared)).toThrow(/imports 'wasi:sockets\/tcp@0\.2\.3' but its manifest does not declare capability 'wasi:sockets'/);
    await expect(ComponentFunction.deploy(undeclared)).rejects.toMatchObject({ code: 'E_CAPABILITY' });
    // declared, the import passes; this component then fails only for exporting no handler
    const declared = await watComponent(wat, { name: 'net', functions: [{ name: 'net' }], capabilities: ['wasi:sockets'] }, true);
    expect(() => verifyComponent(declared)).toThrow(/exports none of 'roam:function\/handler'/);
  });

  it('grants wasi:filesystem without a declaration (the worker preopens no directory: test/foreign-components)', async () => {
    const wat = '(component (import "wasi:filesystem/preopens@0.2.3" (instance)) (import "wasi:filesystem/types@0.2.3" (instance)))';
    const fs = await watComponent(wat, { name: 'fs', functions: [{ name: 'fs' }] }, true);
    expect(() => verifyComponent(fs)).toThrow(/exports none of 'roam:function\/handler'/); // past the import check
  });

  it('refuses a roam capability import the manifest does not declare, and an unknown import', async () => {
    const hello = verifyComponent(await componentOf('functions/hello-wat')).manifest;
    const noLog = embedComponentManifest(await componentOf('functions/hello-wat'), validateManifest({ ...hello, capabilities: [] }));
    expect(() => verifyComponent(noLog)).toThrow(/imports 'roam:function\/log@0\.1\.0' but its manifest does not declare capability 'log'/);
    const odd = await watComponent('(component (import "acme:evil/door" (instance)))', { name: 'odd', functions: [{ name: 'odd' }] }, true);
    expect(() => verifyComponent(odd)).toThrow(/imports 'acme:evil\/door', which roam does not provide/);
  });

  it('refuses malformed components at deploy: truncated, and a broken core module inside', async () => {
    const good = await componentOf('functions/hello-wat');
    await expect(ComponentFunction.deploy(good.subarray(0, good.length - 40))).rejects.toMatchObject({ code: 'E_MALFORMED' });
    const broken = Uint8Array.from(good);
    const core = parseComponent(good).sections.find((s) => s.id === 1)!; // the first core module section
    broken.set([0xde, 0xad, 0xbe, 0xef], core.bodyStart); // its \0asm magic
    await expect(ComponentFunction.deploy(broken)).rejects.toMatchObject({ code: 'E_MALFORMED', message: expect.stringMatching(/jco could not transpile/) });
  });

  it('a trapping handler fails its call with E_TRAP and the function keeps serving', async () => {
    const fn = await deploy(await watComponent(faultyWat(), { name: 'faulty', functions: [{ name: 'faulty' }], limits: { memoryPages: 4 } }));
    await expect(fn.call(get('/trap'))).rejects.toMatchObject({ code: 'E_TRAP', message: expect.stringMatching(/unreachable/) });
    expect(text((await fn.call(get('/fine'))).body)).toBe('ok');
    expect(fn.stats).toMatchObject({ traps: 1, workersStarted: 2 });
  });

  it('an infinite loop in a WAT component runs out of fuel (E_FUEL) and the function keeps serving', async () => {
    const fn = await deploy(await watComponent(faultyWat(), { name: 'faulty', functions: [{ name: 'faulty' }], limits: { memoryPages: 4, fuel: 1_000_000 } }), { timeLimitMs: 60_000 });
    expect(fn.timeLimit).toEqual({ mode: 'fuel', fuel: 1_000_000, metered: ['component.core.wasm'] });
    const spin = fn.call(get('/spin'));
    const behind = fn.call(get('/queued-behind'));
    await expect(spin).rejects.toMatchObject({ code: 'E_FUEL', message: expect.stringMatching(/fuel exhausted: component 'faulty' used more than its 1000000 fuel per call/) });
    await expect(behind).rejects.toMatchObject({ code: 'E_ABORTED' }); // pipelined to the instance the trap poisoned
    expect(text((await fn.call(get('/fine'))).body)).toBe('ok');
    expect(fn.stats).toMatchObject({ fuelExhausted: 1, timeouts: 0, traps: 0 });
  });

  it('the engine-wide fuel cap applies below the manifest', async () => {
    const fn = await deploy(await watComponent(faultyWat(), { name: 'faulty', functions: [{ name: 'faulty' }], limits: { memoryPages: 4, fuel: 1_000_000 } }), { maxFuel: 5_000 });
    expect(fn.timeLimit).toMatchObject({ mode: 'fuel', fuel: 5_000 });
    await expect(fn.call(get('/spin'))).rejects.toMatchObject({ code: 'E_FUEL' });
  });

  it('a hanging handler whose fuel outlasts the time limit is stopped by the watchdog (E_TIMEOUT) and the function keeps serving', async () => {
    const fn = await deploy(await watComponent(faultyWat(), { name: 'faulty', functions: [{ name: 'faulty' }], limits: { memoryPages: 4, fuel: 2 ** 31 - 1 } }), { timeLimitMs: 300 });
    const queued = fn.call(get('/fine-but-queued-behind'));
    await expect(fn.call(get('/spin'))).rejects.toMatchObject({ code: 'E_TIMEOUT', message: expect.stringMatching(/time limit of 300 ms/) });
    await expect(queued).resolves.toMatchObject({ status: 200 });
    expect(text((await fn.call(get('/fine'))).body)).toBe('ok');
    expect(fn.stats.timeouts).toBe(1);
  });

  it('caps linear memory at the manifest limit: growth past it fails, a larger initial memory is refused', async () => {
    const fn = await deploy(await watComponent(faultyWat(), { name: 'faulty', functions: [{ name: 'faulty' }], limits: { memoryPages: 4 } }));
    expect((await fn.call(get('/grow'))).status).toBe(503);
    const big = await watComponent(faultyWat().replace('(memory (export "memory") 1)', '(memory (export "memory") 8)'), { name: 'big', functions: [{ name: 'big' }], limits: { memoryPages: 4 } });
    await expect(ComponentFunction.deploy(big)).rejects.toMatchObject({ code: 'E_LIMIT', message: expect.stringMatching(/initial memory is 8 pages, over the cap of 4/) });
  });

  it('a JS handler that throws answers 500 with the reason; a Promise or a bad status is refused the same way', async () => {
    const fn = await deploy(await componentOf('test/fixtures/components/faulty-ts'));
    const thrown = await fn.call(get('/throw'));
    expect(thrown.status).toBe(500);
    expect(text(thrown.body)).toBe('handler threw: asked to throw');
    const asyncR = await fn.call(get('/async'));
    expect(asyncR.status).toBe(500);
    expect(text(asyncR.body)).toMatch(/returned a Promise: async handlers need JSPI/);
    expect(text((await fn.call(get('/status'))).body)).toMatch(/invalid status 42/);
    const ok = await fn.call(get('/echo', { method: 'PUT', headers: [['X-In', 'v1']], body: Buffer.from('payload') }));
    expect(ok).toMatchObject({ status: 201, headers: [['x-echo', 'v1']] });
    expect(text(ok.body)).toBe('PUT payload');
  }, COMPONENTIZE_MS);
});

describe('roam build for component projects', () => {
  it('builds a .wat project into a component bundle through the CLI', async () => {
    const r = await roam(['build', join(ROOT, 'functions/hello-wat'), '-o', join(ROOT, 'tmp', 'cli-hello-wat.wasm')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/built .*cli-hello-wat\.wasm \(\d+ bytes\): component hello-wat@1\.0\.0/);
    expect(isComponent(readFileSync(join(ROOT, 'tmp', 'cli-hello-wat.wasm')))).toBe(true);
  });

  it('inspects a component bundle: manifest, WIT-level imports and exports', async () => {
    const r = await roam(['inspect', join(ROOT, 'tmp', 'cli-hello-wat.wasm'), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ kind: 'component', manifest: { name: 'hello-wat' }, imports: ['roam:function/log@0.1.0', 'roam:function/types@0.1.0'], exports: ['roam:function/handler@0.1.0'] });
  });

  it('refuses a wasi:http project that uses the fetch event instead of exporting incomingHandler, saying why', async () => {
    const r = await roam(['build', join(ROOT, 'test/fixtures/components/fetch-event-http')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/exports no 'incomingHandler'.*fetch event .*serves only one request per instance/);
  });

  it('reports a TypeScript syntax error with file and line', async () => {
    const r = await roam(['build', join(ROOT, 'test/fixtures/components/broken-ts')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cannot bundle handler\.ts: .*handler\.ts:2/);
  });
});
