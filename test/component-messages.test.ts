import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Engine } from '../engine/runtime/engine.ts';
import { embedComponentManifest, type ComponentDeployment } from '../engine/components/index.ts';
import { validateManifest } from '../engine/bundle/manifest.ts';
import { watToComponent } from '../engine/build/wat-component.ts';
import { decodeResponse, encodeRequest } from '../engine/runtime/http-abi.ts';
import { bundleOf, ROOT } from './helpers/build.ts';
import { createWireServer } from '../engine/server/wire-server.ts';
import { Place } from '../engine/wire/frame.ts';
import type { PlaceResult } from '../engine/places/types.ts';

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
let wasm: Uint8Array;
const lines: string[] = [];
beforeAll(async () => {
  engine = new Engine();
  wasm = await watToComponent(join(ROOT, 'test/fixtures/components/counter.wat'), 'message');
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
    const hits = engine.regions.buffer(validateManifest(MANIFEST), validateManifest(MANIFEST).regions[0]);
    expect(new Uint32Array(hits)[0]).toBe(16);
    expect(asU32(await comp.invoke('peek', u32(0)))).toBe(16);
    expect(await comp.call('peek', u32(0))).toMatchObject({ reply: expect.any(Uint8Array), fuelUsed: expect.any(Number) });
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

describe('component message handlers in the wire server (roam serve)', () => {
  it('routes auto/host messages to the component beside a core bundle, sharing the registry regions; refuses dpu/client', async () => {
    const ws = createWireServer({ hostWorkers: 1 });
    try {
      const manifest = validateManifest({ ...MANIFEST, name: 'counter-c' });
      const c = await ws.deployComponent(embedComponentManifest(wasm, manifest));
      const core = ws.deploy(await bundleOf('test/fixtures/counter'));
      expect(c.id).not.toBe(core.id);
      const send = (place: number, type: number, payload: Uint8Array) =>
        new Promise<PlaceResult>((res) => ws.dispatch(c.id, type, payload, place, (r) => res(r.ok ? { ...r, reply: r.reply.slice() } : r)));
      const a = await send(Place.AUTO, 1, u32(7));
      expect(a).toMatchObject({ ok: true, place: 'host' });
      expect(asU32((a as { reply: Uint8Array }).reply)).toBe(7);
      expect(asU32((await send(Place.HOST, 1, u32(3)) as { reply: Uint8Array }).reply)).toBe(10);
      expect(new Uint32Array(ws.table.regions.buffer(manifest, manifest.regions[0]))[0]).toBe(10);
      expect(await send(Place.DPU, 1, u32(1))).toMatchObject({ ok: false, code: 'E_BAD_PLACE' });
      expect(await send(Place.CLIENT, 1, u32(1))).toMatchObject({ ok: false, code: 'E_BAD_PLACE' });
      expect(await send(Place.AUTO, 2, u32(64))).toMatchObject({ ok: false, code: 'E_REGION' });
      expect(await send(Place.AUTO, 99, u32(1))).toMatchObject({ ok: false, code: 'E_NO_HANDLER' });
      expect(ws.stats.byPlace.host).toBeGreaterThanOrEqual(3);
    } finally {
      await ws.close();
    }
  });
});
