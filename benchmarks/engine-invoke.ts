// Engine core benchmark: in-process handler invocations through the engine vs a raw
// WebAssembly.Instance call of the same export, and fuel-metered vs unmetered code.
// Run: npm run bench:engine
import { join } from 'node:path';
import { buildProject, Engine, readBundle } from '../engine/index.ts';
import { meter } from '../engine/meter/meter.ts';
import { CAPABILITIES } from '../engine/capabilities/index.ts';
import { RegionStore } from '../engine/regions/region-store.ts';
import type { GuestContext } from '../engine/capabilities/capability.ts';
import { measureInterleaved, report } from './harness.ts';

const ROOT = join(import.meta.dirname, '..');
const N = 100_000;

/** A bare instance of `bytes` with the same host functions the engine links, called the raw way. */
function rawInstance(bytes: Uint8Array, regions: RegionStore) {
  const b = readBundle(bytes);
  const ctx = { manifest: b.manifest, regions: regions.bind(b.manifest), allowed: new Uint8Array(b.manifest.regions.length).fill(1), state: new Map(), memory: undefined as unknown as WebAssembly.Memory, view: () => {
    if (view.length === 0) view = new Uint8Array(ctx.memory.buffer); // cached like the engine's, refreshed after growth
    return view;
  }, bytes: (p: number, n: number) => ctx.view().subarray(p, p + n) } as GuestContext;
  let view = new Uint8Array(0);
  const imports: WebAssembly.Imports = {};
  for (const c of ['core', ...b.manifest.capabilities]) imports[CAPABILITIES.get(c)!.module] = CAPABILITIES.get(c)!.imports(ctx);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), imports);
  const e = inst.exports as Record<string, any>;
  ctx.memory = e.memory;
  e.roam_set_fuel?.(2 ** 31 - 1);
  const inPtr = e.roam_in(64);
  return { e, inPtr, setFuel: e.roam_set_fuel as ((n: number) => void) | undefined };
}

/** The raw calling sequence: copy input in, call the export, copy the reply out. */
function rawCall(r: ReturnType<typeof rawInstance>, fn: string, input: Uint8Array): Uint8Array {
  const mem = new Uint8Array(r.e.memory.buffer);
  mem.set(input, r.inPtr);
  r.setFuel?.(2 ** 31 - 1);
  const n = r.e[fn](input.length);
  return n > 0 ? mem.slice(r.e.roam_out(), r.e.roam_out() + n) : new Uint8Array(0);
}

export async function run(): Promise<string> {
  const kv = (await buildProject(join(ROOT, 'functions/kv'), { outFile: join(ROOT, 'build/bench/kv.wasm') })).bytes;
  const bad = (await buildProject(join(ROOT, 'test/fixtures/misbehave'), { outFile: join(ROOT, 'build/bench/misbehave.wasm') })).bytes;
  const key = Buffer.alloc(8);
  key.writeBigUInt64LE(42n);
  const put = Buffer.concat([key, Buffer.from('forty-two')]);

  const regions = new RegionStore();
  const engine = new Engine({ regions });
  const d = engine.deploy(kv);
  d.invoke('put', put);
  const meteredBytes = meter(readBundle(kv).module, 16, 1e6);
  const raw = rawInstance(kv, regions);
  const rawMetered = rawInstance(meteredBytes, regions);
  const loop = new Uint8Array([100]);
  const badRaw = rawInstance(bad, new RegionStore());
  const badMetered = rawInstance(meter(readBundle(bad).module, 16, 1e6), new RegionStore());

  const rows = measureInterleaved([
    { name: 'raw Instance call, kv get (unmetered)', ops: N, body: () => { for (let i = 0; i < N; i++) rawCall(raw, 'get', key); } },
    { name: 'raw Instance call, kv get (metered)', ops: N, body: () => { for (let i = 0; i < N; i++) rawCall(rawMetered, 'get', key); } },
    { name: 'engine Deployment.invoke, kv get (metered)', ops: N, body: () => { for (let i = 0; i < N; i++) d.invoke('get', key); } },
    { name: 'raw, 100-iteration loop (unmetered)', ops: N, body: () => { for (let i = 0; i < N; i++) rawCall(badRaw, 'count', loop); } },
    { name: 'raw, 100-iteration loop (metered)', ops: N, body: () => { for (let i = 0; i < N; i++) rawCall(badMetered, 'count', loop); } },
  ]);
  const [rawU, rawM, eng, loopU, loopM] = rows as [typeof rows[0], typeof rows[0], typeof rows[0], typeof rows[0], typeof rows[0]];
  return report('Engine core: in-process invocation (kv get, 8-byte key, 9-byte reply)', rows, [
    ['engine / raw (same metered module)', eng, rawM, 0.7],
    ['engine / raw unmetered (all overheads)', eng, rawU, 0.7],
    ['metered / unmetered, kv get', rawM, rawU, 0.85],
    ['metered / unmetered, tight loop (worst case)', loopM, loopU, 0],
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
