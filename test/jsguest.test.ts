// TypeScript guests on the shared QuickJS engine, in-process: build, bundle shape, calls, regions shared
// with AssemblyScript, and the bounds (fuel, memory, stack, errors, refused constructs, admission).
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { Engine } from '../engine/runtime/engine.ts';
import { RegionStore } from '../engine/regions/region-store.ts';
import { readBundle, embedManifest } from '../engine/bundle/bundle.ts';
import { decodeResponse, encodeRequest } from '../engine/runtime/http-abi.ts';
import { buildTsProject, MAX_TS_BUNDLE } from '../engine/build/build-ts.ts';
import { ENGINE_HASH, engineBytes } from '../engine/jsguest/quickjs-engine.ts';
import { jsCodeOf, jsSection, EMPTY_MODULE } from '../engine/bundle/js-section.ts';
import { concat, nameBytes, section } from '../engine/bundle/leb.ts';
import { verifyBundle } from '../engine/verify/verify.ts';
import { CAPABILITIES } from '../engine/capabilities/index.ts';
import { kvBundle, key, putMsg } from './places-helpers.ts';
import { logSink, setLogSink } from '../engine/capabilities/log.ts';

const defaultSink = logSink;
import { tsBundle, tsProject } from './jsguest-helpers.ts';

const text = (b: Uint8Array) => Buffer.from(b).toString();
const err = (f: () => unknown): { code: string; message: string; cause?: { status?: number } } => {
  try {
    f();
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected a failure');
};

describe('TypeScript guests: bundles', () => {
  it('builds hello-qjs into an ordinary roam bundle of a few KB that names the engine by hash, not a copy of it', async () => {
    const bytes = await tsBundle('functions/hello-qjs');
    expect(bytes.length).toBeLessThanOrEqual(MAX_TS_BUNDLE);
    expect(bytes.length).toBeLessThan(engineBytes().length / 20);
    const b = readBundle(bytes);
    expect(b.manifest.functions.map((f) => f.name)).toEqual(['greet', 'shout']);
    const js = jsCodeOf(bytes)!;
    expect(js.engine).toBe(ENGINE_HASH);
    expect(js.format).toBe('source');
    expect(WebAssembly.validate(bytes as BufferSource)).toBe(true);
  });

  it('shows the engine and the code in roam inspect', async () => {
    const out = execFileSync(process.execPath, ['bin/roam.js', 'build', 'functions/hello-qjs', '-o', '/dev/null'], { encoding: 'utf8' });
    expect(out).toMatch(/TypeScript on QuickJS, 1 handler\(s\), 2 function\(s\)/);
    const file = tsProject({ name: 'insp', handlers: [{ name: 'h', type: 1 }] }, 'import { handler } from "roam/guest";\nexport const h = handler(() => "x");\n');
    execFileSync(process.execPath, ['bin/roam.js', 'build', file]);
    const shown = execFileSync(process.execPath, ['bin/roam.js', 'inspect', `${file}/build/insp.wasm`], { encoding: 'utf8' });
    expect(shown).toContain(`engine     sha256:${ENGINE_HASH}`);
    expect(shown).toMatch(/code +\d+ bytes of JavaScript/);
  });
});

describe('TypeScript guests: calls', () => {
  let engine: Engine;
  beforeAll(() => {
    engine = new Engine();
  });

  it('runs a handler and a function, with UTF-8 both ways', async () => {
    const d = engine.deploy(await tsBundle('functions/hello-qjs'));
    expect(text(d.invoke('hello', Buffer.from('wörld')))).toBe('hello, wörld');
    const res = decodeResponse(d.invoke('greet', encodeRequest({ method: 'POST', path: '/', headers: [], body: Buffer.from('ünïcode') })));
    expect(res.status).toBe(200);
    expect(res.headers).toContainEqual(['content-type', 'text/plain; charset=utf-8']);
    expect(text(res.body)).toBe('hello, ünïcode');
    // Its log line reaches the engine's log sink through roam:log, UTF-8 intact.
    const lines: string[] = [];
    setLogSink((bundle, level, message) => lines.push(`${bundle} ${level} ${message}`));
    try {
      d.invoke('greet', encodeRequest({ method: 'GET', path: '/zoë', headers: [], body: new Uint8Array() }));
    } finally {
      setLogSink(defaultSink);
    }
    expect(lines).toEqual(['hello-qjs 1 greet zoë']);
  });

  it('keeps a kv table that the AssemblyScript kv reads and writes: a new version of kv in TypeScript keeps its regions', async () => {
    const regions = new RegionStore();
    const e = new Engine({ regions });
    const as = e.deploy(await kvBundle());
    as.call('put', putMsg(7, 'from-as'));
    // Keys with both halves set: the hash's 64-bit arithmetic must match the AssemblyScript one.
    const big = [0x8000_0000_0000_3039n, 0xdead_beef_cafe_f00dn, 0x1_0000_0000n, 0xffff_ffff_ffff_fffdn];
    for (const k of big) as.call('put', putMsg(k, `as-${k}`));
    const tsBytes = await tsBundle('functions/kv-ts');
    const asTs = embedManifest(readBundle(tsBytes).module.bytes, { ...readBundle(tsBytes).manifest, name: 'kv' });
    const ts = e.deploy(asTs);
    expect(text(ts.invoke('get', key(7)))).toBe('from-as');
    for (const k of big) expect(text(ts.invoke('get', key(k)))).toBe(`as-${k}`);
    for (const k of big) ts.call('put', putMsg(k + 1n, `ts-${k}`));
    for (const k of big) expect(text(as.invoke('get', key(k + 1n)))).toBe(`ts-${k}`);
    ts.call('put', putMsg(8, 'from-ts'));
    ts.call('put', putMsg(7, 'ts-overwrote'));
    expect(text(as.invoke('get', key(8)))).toBe('from-ts');
    expect(text(as.invoke('get', key(7)))).toBe('ts-overwrote');
    ts.call('del', key(8));
    expect(err(() => as.invoke('get', key(8))).cause?.status).toBe(404);
    expect(err(() => ts.invoke('get', key(8))).message).toMatch(/'get' failed with code 404: not found/);
    expect(err(() => ts.invoke('put', putMsg(9, 'x'.repeat(49)))).cause?.status).toBe(413);
  });
});

describe('TypeScript guests: instances of replaced deployments', () => {
  it('frees their runtimes (regression: the engine callback router kept every instance alive, +24 MiB per 300 redeploys)', () => {
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/helpers/jsguest-redeploys.ts'], { encoding: 'utf8' });
    const sizes = JSON.parse(out) as number[];
    // 200 live instances fit in the first round's growth; later rounds reuse the freed memory.
    expect(sizes[3]).toBe(sizes[0]);
  });
});

describe('TypeScript guests: streamed bodies (capability body)', () => {
  it('reads the request body in chunks and writes the reply body in chunks', async () => {
    const dir = tsProject(
      { name: 'bodies', capabilities: ['body'], functions: [{ name: 'wc' }, { name: 'echo' }], limits: { memoryPages: 16, fuel: 10_000_000 } },
      `import { fn, Response, BodyReader, writeBody } from "roam/guest";
export const wc = fn((req) => { const r = new BodyReader(req, 4); let n = 0, chunks = 0; for (let k = r.next(); k > 0; k = r.next()) { n += k; chunks++; } return Response.text(200, n + " bytes in " + chunks + " chunks, streamed " + req.streamed); });
export const echo = fn((req) => { const r = new BodyReader(req, 3); for (let k = r.next(); k > 0; k = r.next()) writeBody(r.chunk.subarray(0, k)); writeBody("!"); return new Response(201).setHeader("x-streamed", "yes"); });
`,
    );
    const d = new Engine().deploy((await buildTsProject(dir)).bytes);
    const req = encodeRequest({ method: 'POST', path: '/', headers: [], body: Buffer.from('hello world') });
    expect(text(decodeResponse(d.invoke('wc', req)).body)).toBe('11 bytes in 3 chunks, streamed true');
    const r = decodeResponse(d.invoke('echo', req));
    expect(r.status).toBe(201);
    expect(r.headers).toContainEqual(['x-streamed', 'yes']);
    expect(text(r.body)).toBe('hello world!');
  });
});

describe('TypeScript guests: bounds', () => {
  let engine: Engine;
  let dep: ReturnType<Engine['deploy']>;
  beforeAll(async () => {
    const dir = tsProject(
      {
        name: 'bounds',
        capabilities: ['regions'],
        regions: [{ name: 'a', size: 64 }, { name: 'b', size: 64 }],
        handlers: ['spin', 'hog', 'deep', 'boom', 'nope', 'sneaky', 'count', 'ok', 'dyn'].map((name, i) => ({ name, type: i + 1, regions: ['a'] })),
        limits: { memoryPages: 16, fuel: 200_000 },
      },
      `import { handler, fail, regionRead, text } from "roam/guest";
export const spin = handler(() => { for (;;) {} });
export const hog = handler(() => { const keep: Uint8Array[] = []; for (;;) keep.push(new Uint8Array(64 * 1024)); });
function rec(n: number): number { return rec(n + 1) + 1; }
export const deep = handler(() => String(rec(0)));
export const boom = handler(() => { throw new TypeError("bad thing"); });
export const nope = handler(() => fail(404, "no such key"));
export const sneaky = handler(() => { try { regionRead(1, 0, 8); } catch { return "caught"; } return "read"; });
export const count = handler((input) => { const n = Number(text(input)); let s = 0; for (let i = 0; i < n; i++) s += i; return String(s); });
export const ok = handler(() => "ok");
const g = globalThis as unknown as Record<string, (s: string) => unknown>;
export const dyn = handler((input) => { const how = text(input); const f = how === "eval" ? g["ev" + "al"]! : (function () {}).constructor as unknown as (s: string) => unknown; return String(f("return 1")); });
`,
    );
    engine = new Engine();
    dep = engine.deploy((await buildTsProject(dir)).bytes);
  });

  it('stops an endless loop with E_FUEL naming the handler, and keeps serving', () => {
    const e = err(() => dep.call('spin', new Uint8Array(0)));
    expect(e.code).toBe('E_FUEL');
    expect(e.message).toMatch(/'spin' used more than its 200000 fuel/);
    expect(text(dep.invoke('ok', new Uint8Array(0)))).toBe('ok');
  });

  it('charges fuel in interrupt blocks: a loop well under the budget runs, one over it stops', () => {
    expect(dep.call('count', Buffer.from('20000')).fuelUsed).toBeLessThanOrEqual(200_000);
    expect(err(() => dep.call('count', Buffer.from('300000'))).code).toBe('E_FUEL');
  });

  it("stops a guest past the manifest's memory limit with E_MEMORY_LIMIT naming it, and keeps serving", () => {
    const e = err(() => dep.call('hog', new Uint8Array(0)));
    expect(e.code).toBe('E_MEMORY_LIMIT');
    expect(e.message).toMatch(/'hog' passed its 16 pages \(1024 KiB\)/);
    expect(text(dep.invoke('ok', new Uint8Array(0)))).toBe('ok');
  });

  it('refuses eval and the Function constructor at run time too, however they are reached', () => {
    for (const how of ['eval', 'ctor']) expect(err(() => dep.call('dyn', Buffer.from(how))).message).toMatch(/'dyn' failed with code 500: TypeError: eval and the Function constructor are not available/);
  });

  it('reports unbounded recursion as E_STACK', () => {
    expect(err(() => dep.call('deep', new Uint8Array(0))).code).toBe('E_STACK');
  });

  it('reports a thrown error like an AssemblyScript fail(): E_HANDLER, code 500, and the instance is kept', () => {
    dep.call('ok', new Uint8Array(0)); // the pool holds a live instance (an earlier test broke one)
    const before = dep.stats.instancesCreated;
    const e = err(() => dep.call('boom', new Uint8Array(0)));
    expect(e.code).toBe('E_HANDLER');
    expect(e.message).toMatch(/'boom' failed with code 500: TypeError: bad thing/);
    expect(e.cause?.status).toBe(500);
    const f = err(() => dep.call('nope', new Uint8Array(0)));
    expect(f.message).toBe("'nope' failed with code 404: no such key");
    expect(f.cause?.status).toBe(404);
    expect(dep.stats.instancesCreated).toBe(before);
  });

  it("refuses a region the handler did not declare with the engine's own check, even when the guest catches it", () => {
    const e = err(() => dep.call('sneaky', new Uint8Array(0)));
    expect(e.code).toBe('E_REGION');
    expect(e.message).toMatch(/'sneaky': handler did not declare region 'b'/);
  });
});

describe('TypeScript guests: refused at build, refused at admission', () => {
  it('refuses async, await, Promise, eval, Function, timers and dynamic import, each with its reason', async () => {
    const dir = tsProject(
      { name: 'refused', functions: [{ name: 'f' }] },
      `import { fn, Response } from "roam/guest";
async function later(): Promise<number> { return 1; }
export const f = fn((req) => {
  void later;
  eval("1");
  const g = new Function("return 1");
  setTimeout(() => {}, 1);
  Promise.resolve(1);
  void import("./x");
  return Response.text(200, String(g));
});
`,
    );
    const e = await buildTsProject(dir).then(
      () => null,
      (x: { code: string; message: string }) => x,
    );
    expect(e?.code).toBe('E_BUILD');
    for (const what of ['`async` function', '`eval`', '`Function`', '`setTimeout`', '`Promise`', 'dynamic `import()`']) expect(e!.message).toContain(`${what} is not supported`);
    expect(e!.message).toMatch(/runs to completion synchronously/);
    expect(e!.message).toContain('src/index.ts');
  });

  it('refuses at build a handler whose signature does not fit roam/guest (type check against the manifest)', async () => {
    const dir = tsProject({ name: 'sig', handlers: [{ name: 'h', type: 1 }] }, 'export function h(input: string): number { return input.length; }\n');
    await expect(buildTsProject(dir)).rejects.toMatchObject({ code: 'E_BUILD', message: expect.stringMatching(/type check failed[\s\S]*roam\.json \(declared entries\)/) });
  });

  it('builds the ts-handler and ts-function templates into bundles that answer', async () => {
    const h = new Engine().deploy((await buildTsProject('templates/ts-handler', { outFile: `${tsProject({ name: 'x', handlers: [] }, '')}/h.wasm` })).bytes);
    expect(text(h.invoke('echo', Buffer.from('hi')))).toBe('echo: hi');
    expect(text(h.invoke('count', Uint8Array.of(3)))).toBe('1');
    expect(text(h.invoke('count', Uint8Array.of(3)))).toBe('2');
    const f = new Engine().deploy((await buildTsProject('templates/ts-function', { outFile: `${tsProject({ name: 'y', handlers: [] }, '')}/f.wasm` })).bytes);
    expect(JSON.parse(text(decodeResponse(f.invoke('hello', encodeRequest({ method: 'GET', path: '/you', headers: [], body: new Uint8Array() }))).body))).toEqual({ greeting: 'hello, you' });
  });

  it('refuses a declared export the code does not have, at build', async () => {
    const dir = tsProject({ name: 'missing', handlers: [{ name: 'h', type: 1 }, { name: 'gone', type: 2 }] }, 'import { handler } from "roam/guest";\nexport const h = handler(() => "x");\n');
    await expect(buildTsProject(dir)).rejects.toMatchObject({ code: 'E_BUILD', message: expect.stringMatching(/type check failed[\s\S]*'gone'/) });
    // Without the type check, loading the code once still finds it.
    await expect(buildTsProject(dir, { check: false })).rejects.toMatchObject({ code: 'E_EXPORT', message: expect.stringMatching(/no function 'gone'/) });
  });

  it('refuses a bundle that needs another engine, a capability JS guests lack, a malformed code section, code that throws as it loads, or Wasm code beside the JS', async () => {
    const good = await tsBundle('functions/hello-qjs');
    const m = readBundle(good).manifest;
    const js = jsCodeOf(good)!;
    const other = embedManifest(concat([EMPTY_MODULE, jsSection({ ...js, engine: 'ab'.repeat(32) })]), m);
    expect(() => verifyBundle(other, CAPABILITIES)).toThrow(expect.objectContaining({ code: 'E_ENGINE' }));
    const gpu = embedManifest(concat([EMPTY_MODULE, jsSection(js)]), { ...m, capabilities: ['gpu'] });
    expect(() => verifyBundle(gpu, CAPABILITIES)).toThrow(/not available to TypeScript guests/);
    const truncated = embedManifest(concat([EMPTY_MODULE, section(0, [...nameBytes('roam.js'), 200, 0, 0, 0, 123])]), m);
    expect(() => verifyBundle(truncated, CAPABILITIES)).toThrow(expect.objectContaining({ code: 'E_MANIFEST', message: expect.stringMatching(/header length 200 out of range/) }));
    const throwsAtLoad = embedManifest(concat([EMPTY_MODULE, jsSection({ ...js, code: 'throw new RangeError("config missing")' })]), m);
    expect(() => new Engine().deploy(throwsAtLoad)).toThrow(expect.objectContaining({ code: 'E_INSTANTIATE', message: expect.stringMatching(/its code failed to load: RangeError: config missing/) }));
    const oneMemory = Uint8Array.of(...EMPTY_MODULE, 5, 3, 1, 0, 1);
    const withCode = embedManifest(concat([oneMemory, jsSection(js)]), m);
    expect(() => verifyBundle(withCode, CAPABILITIES)).toThrow(expect.objectContaining({ code: 'E_MALFORMED' }));
  });
});
