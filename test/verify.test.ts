import { describe, expect, it } from 'vitest';
import { Engine, embedManifest, readBundle, RoamError, validateManifest } from '../engine/index.ts';
import { abiModule } from './helpers/wasm.ts';
import { bundleOf } from './helpers/build.ts';

const manifest = (over: Record<string, unknown> = {}) => validateManifest({ name: 't', version: '1', handlers: [{ name: 'h' }], ...over });
const refusal = (bytes: Uint8Array, engine = new Engine()): RoamError => {
  try {
    engine.deploy(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(RoamError);
    return e as RoamError;
  }
  throw new Error('expected the engine to refuse the bundle');
};

describe('verifier', () => {
  it('accepts a minimal module that meets the ABI and runs it', () => {
    const d = new Engine().deploy(embedManifest(abiModule(), manifest()));
    expect(d.names).toEqual(['h']);
  });

  it('refuses malformed bytes', () => {
    const e = refusal(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff, 0xff]));
    expect(e.code).toBe('E_MALFORMED');
    expect(e.message).toMatch(/malformed Wasm module/);
    expect(refusal(new TextEncoder().encode('not wasm at all')).code).toBe('E_MALFORMED');
  });

  it('refuses a valid module with no manifest', () => {
    const e = refusal(abiModule());
    expect(e.code).toBe('E_NO_MANIFEST');
    expect(e.message).toMatch(/roam\.manifest/);
  });

  it('refuses an import from an undeclared capability, naming it', async () => {
    const kv = await bundleOf('functions/kv');
    const m = readBundle(kv).manifest;
    const e = refusal(embedManifest(kv, { ...m, regions: [], handlers: m.handlers.map((h) => ({ ...h, regions: [] })), capabilities: [] }));
    expect(e.code).toBe('E_IMPORT');
    expect(e.message).toMatch(/import roam:regions\.\w+: capability 'regions' is not declared/);
  });

  it('refuses an import from a module no capability offers', () => {
    const bytes = abiModule({ imports: [{ module: 'env', name: 'seed', type: [[], ['f64']] }] });
    const e = refusal(embedManifest(bytes, manifest()));
    expect(e.message).toBe("import env.seed: no such capability module");
  });

  it('refuses an import with the wrong signature or an unknown name', () => {
    const wrongSig = abiModule({ imports: [{ module: 'roam:log', name: 'log', type: [['i32'], []] }] });
    expect(refusal(embedManifest(wrongSig, manifest({ capabilities: ['log'] }))).message).toMatch(/import roam:log\.log: signature \(i32\)->\(\), expected \(i32,i32,i32\)->\(\)/);
    const unknown = abiModule({ imports: [{ module: 'roam:log', name: 'shout', type: [[], []] }] });
    expect(refusal(embedManifest(unknown, manifest({ capabilities: ['log'] }))).message).toMatch(/has no function 'shout'/);
  });

  it('refuses an imported memory', () => {
    const bytes = abiModule({ memory: null, imports: [{ module: 'roam:core', name: 'memory', memory: [1] }] });
    expect(refusal(embedManifest(bytes, manifest())).message).toMatch(/only function imports are allowed/);
  });

  it('refuses a capability the engine does not offer or denies', () => {
    expect(refusal(embedManifest(abiModule(), manifest({ capabilities: ['teleport'] }))).message).toMatch(/capability 'teleport' is not offered/);
    const engine = new Engine({ deny: ['log'] });
    expect(refusal(embedManifest(abiModule(), manifest({ capabilities: ['log'] })), engine).code).toBe('E_CAPABILITY');
  });

  it('refuses a missing or mistyped export, naming it', () => {
    const missing = refusal(embedManifest(abiModule(), manifest({ handlers: [{ name: 'h' }, { name: 'gone' }] })));
    expect(missing.message).toBe("missing export 'gone' (expected a function (i32)->i32)");
    const mistyped = refusal(embedManifest(abiModule(), manifest({ handlers: [{ name: 'h', export: 'roam_out' }] })));
    expect(mistyped.message).toBe("export 'roam_out' has signature ()->i32, expected (i32)->i32");
    const notFn = refusal(embedManifest(abiModule(), manifest({ handlers: [{ name: 'h', export: 'memory' }] })));
    expect(notFn.message).toMatch(/export 'memory' is a memory/);
  });

  it('refuses memory over the limit', () => {
    const big = abiModule({ memory: [1, 64] });
    const e = refusal(embedManifest(big, manifest({ limits: { memoryPages: 16 } })));
    expect(e.code).toBe('E_LIMIT');
    expect(e.message).toBe('memory maximum 64 pages is over the limit of 16 pages');
    const min = abiModule({ memory: [32] });
    expect(refusal(embedManifest(min, manifest({ limits: { memoryPages: 16 } }))).message).toMatch(/memory minimum 32 pages/);
    expect(refusal(embedManifest(abiModule(), manifest({ limits: { memoryPages: 4096 } }))).message).toMatch(/over the engine limit of 1024 pages/);
  });

  it('refuses a start function that reaches a host import', () => {
    const bytes = abiModule({
      imports: [{ module: 'roam:clock', name: 'now_ms', type: [[], ['f64']] }],
      functions: [{ type: [[], []], body: [0x10, 0x00, 0x1a] }], // call now_ms; drop
      start: 4,
    });
    const e = refusal(embedManifest(bytes, manifest({ capabilities: ['clock'] })));
    expect(e.code).toBe('E_START');
    expect(e.message).toBe('start function reaches host import roam:clock.now_ms');
  });

  it('refuses reserved export names and invalid manifests', () => {
    const bytes = abiModule({ exports: [{ name: 'roam_fuel_left', func: 2 }] });
    expect(refusal(embedManifest(bytes, manifest())).message).toMatch(/reserved/);
    expect(() => validateManifest({ name: 't', version: '1', handlers: [{ name: 'a', type: 1 }, { name: 'b', type: 1 }] })).toThrow(/type 1 used twice/);
    expect(() => validateManifest({ name: 't', version: '1', handlers: [{ name: 'a', regions: ['x'] }] })).toThrow(/undeclared region 'x'/);
    expect(() => validateManifest({ name: 't', version: '1' })).toThrow(/no handler and no function/);
    expect(() => validateManifest({ name: 't', version: '1', handlers: [{ name: 'a' }], limits: { fuel: -1 } })).toThrow(/limits\.fuel/);
  });
});
