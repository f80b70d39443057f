import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Engine } from '../engine/runtime/engine.ts';
import { embedComponentManifest, type ComponentDeployment } from '../engine/components/index.ts';
import { validateManifest } from '../engine/bundle/manifest.ts';
import { watToComponent } from '../engine/build/wat-component.ts';
import { decodeResponse, encodeRequest } from '../engine/runtime/http-abi.ts';
import { bundleOf, ROOT } from './helpers/build.ts';

// The component shares bundle name and region 'hits' with the core bundle test/fixtures/counter, so the
// engine's RegionStore gives both the same bytes.
const MANIFEST = {
  name: 'counter',
  version: '1.0.0',
  regions: [
    { name: 'hits', size: 64, access: 'rw' },
    { name: 'secret', size: 16, access: 'rw' },
    { name: 'ro', size: 16, access: 'r' },
  ],
  handlers: [
    { name: 'add', type: 1, regions: ['hits'] },
    { name: 'peek', type: 2, regions: ['hits'] },
    { name: 'sneak', type: 3, regions: ['hits'] },
    { name: 'ghost', type: 4, regions: ['hits'] },
    { name: 'boom', type: 5, regions: [] },
    { name: 'poke', type: 6, regions: ['ro'] },
  ],
  capabilities: ['log', 'regions'],
  limits: { memoryPages: 4, fuel: 1_000_000 },
};

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const asU32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true);

let engine: Engine;
let comp: ComponentDeployment;
const lines: string[] = [];
beforeAll(async () => {
  engine = new Engine();
  const wasm = await watToComponent(join(ROOT, 'test/fixtures/components/counter.wat'), 'message');
  comp = await engine.deployComponent(embedComponentManifest(wasm, validateManifest(MANIFEST)), { onLog: (l) => lines.push(l) });
}, 120_000);
afterAll(async () => {
  await comp?.close();
});

describe('component message handlers (world message)', () => {
  it('a component handler and a core handler increment the same region through the engine', async () => {
    const core = engine.deploy(await bundleOf('test/fixtures/counter'));
    expect(asU32(await comp.invoke('add', u32(5)))).toBe(5);
    // the core bundle's `hit` does fetchAddU32(hits, 0, 1) and answers the new count
    const hit = decodeResponse(core.invoke('hit', encodeRequest({ method: 'GET', path: '/', headers: [], body: new Uint8Array() })));
    expect(Buffer.from(hit.body).toString()).toBe('6');
    expect(asU32(await comp.invoke('add', u32(10)))).toBe(16);
    const hits = engine.regions.buffer('counter', validateManifest(MANIFEST).regions[0]);
    expect(new Uint32Array(hits)[0]).toBe(16);
    expect(asU32(await comp.invoke('peek', u32(0)))).toBe(16);
    expect(lines).toContain('counter-wat: add');
  });

  it('an out-of-bounds region access fails that call with E_REGION naming region and offset; the handler keeps serving', async () => {
    await expect(comp.invoke('peek', u32(62))).rejects.toMatchObject({ code: 'E_REGION', message: expect.stringMatching(/region 'hits' access out of bounds: offset 62 \+ 4 > size 64/) });
    expect(asU32(await comp.invoke('peek', u32(60)))).toBe(0);
    const before = asU32(await comp.invoke('peek', u32(0)));
    expect(asU32(await comp.invoke('add', u32(1)))).toBe(before + 1);
  });

  it('refuses regions the handler did not declare, the bundle did not declare, or declared read-only', async () => {
    await expect(comp.invoke('sneak', new Uint8Array())).rejects.toMatchObject({ code: 'E_REGION', message: expect.stringMatching(/handler did not declare region 'secret'/) });
    await expect(comp.invoke('ghost', new Uint8Array())).rejects.toMatchObject({ code: 'E_REGION', message: expect.stringMatching(/region 'ghost' is not declared by bundle 'counter'/) });
    await expect(comp.invoke('poke', u32(0))).rejects.toMatchObject({ code: 'E_REGION', message: expect.stringMatching(/region 'ro' is not declared writable/) });
    expect(await comp.invoke('peek', u32(0))).toHaveLength(4);
  });

  it('a trap fails only that call', async () => {
    const before = asU32(await comp.invoke('peek', u32(0)));
    await expect(comp.invoke('boom', new Uint8Array())).rejects.toMatchObject({ code: 'E_TRAP' });
    // a payload too short traps too (the guest checks it)
    await expect(comp.invoke('add', new Uint8Array(2))).rejects.toMatchObject({ code: 'E_TRAP' });
    expect(asU32(await comp.invoke('add', u32(2)))).toBe(before + 2);
    await expect(comp.invoke('nope', new Uint8Array())).rejects.toMatchObject({ code: 'E_NO_ENTRY' });
  });

  it('pipelined messages are answered in order', async () => {
    const before = asU32(await comp.invoke('peek', u32(0)));
    const replies = await Promise.all(Array.from({ length: 50 }, () => comp.invoke('add', u32(1))));
    expect(replies.map(asU32)).toEqual(Array.from({ length: 50 }, (_, i) => before + i + 1));
  });
});
