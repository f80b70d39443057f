import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProject } from '../engine/build/assemblyscript.ts';
import { contentHash } from '../engine/bundle/bundle.ts';
import { tmp } from './helpers/build.ts';

const manifest = { name: 'c', version: '1.0.0', capabilities: [], functions: [], handlers: [{ name: 'h', type: 1 }], limits: { memoryPages: 16, fuel: 1000000 } };

/** A project whose entry imports "./util": asc tries util.ts first, then util/index.ts. */
function project(): string {
  const dir = join(tmp(), 'c');
  mkdirSync(join(dir, 'assembly', 'util'), { recursive: true });
  writeFileSync(join(dir, 'roam.json'), JSON.stringify(manifest));
  writeFileSync(join(dir, 'assembly', 'index.ts'), 'import { reply } from "roam";\nimport { n } from "./util";\nexport function h(len: i32): i32 { const b = new Uint8Array(1); b[0] = <u8>n(); return reply(b); }\n');
  writeFileSync(join(dir, 'assembly', 'util', 'index.ts'), 'export function n(): i32 { return 1; }\n');
  return dir;
}

describe('the compile cache: an unchanged project skips asc, any changed input compiles again', () => {
  it('reuses the compile only while every source, probe and flag is the same', async () => {
    const dir = project();
    const a = await buildProject(dir, { cache: true });
    expect(a.cached).toBe(false);
    const b = await buildProject(dir, { cache: true });
    expect(b.cached).toBe(true);
    expect(contentHash(b.bytes)).toBe(contentHash(a.bytes));

    // roam.json changes without the sources: the module is reused, the manifest embedded anew
    writeFileSync(join(dir, 'roam.json'), JSON.stringify({ ...manifest, version: '1.0.1' }));
    const c = await buildProject(dir, { cache: true });
    expect(c.cached).toBe(true);
    expect(c.manifest.version).toBe('1.0.1');
    expect(contentHash(c.bytes)).not.toBe(contentHash(a.bytes));

    // a source the entry imports changes
    writeFileSync(join(dir, 'assembly', 'util', 'index.ts'), 'export function n(): i32 { return 2; }\n');
    const d = await buildProject(dir, { cache: true });
    expect(d.cached).toBe(false);

    // a file appears where asc looked first (util.ts shadows util/index.ts)
    writeFileSync(join(dir, 'assembly', 'util.ts'), 'export function n(): i32 { return 3; }\n');
    const e = await buildProject(dir, { cache: true });
    expect(e.cached).toBe(false);
    expect(e.files).toContain(join(dir, 'assembly', 'util.ts'));

    // other flags (-O0) are another compile
    expect((await buildProject(dir, { cache: true, optimize: false })).cached).toBe(false);
    expect((await buildProject(dir, { cache: true })).cached).toBe(false); // -O3's entry was replaced by -O0's
    expect((await buildProject(dir, { cache: true })).cached).toBe(true);
    // without the option nothing is read from the cache
    expect((await buildProject(dir)).cached).toBe(false);

    // regression (bench:build): a copy of the project, build/ folder included, then broken, is compiled
    // (its cache entry named the original's sources, all unchanged, and the broken copy built "fine")
    const copy = join(tmp(), 'copy');
    cpSync(dir, copy, { recursive: true });
    writeFileSync(join(copy, 'assembly', 'index.ts'), 'export function h(len: i32): i32 { return nope; }\n');
    await expect(buildProject(copy, { cache: true })).rejects.toThrow(/Cannot find name 'nope'/);
  });
});
