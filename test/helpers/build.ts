import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildProject } from '../../engine/build/assemblyscript.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
const out = mkdtempSync(join(tmpdir(), 'roam-test-'));
const cache = new Map<string, Promise<Uint8Array>>();

/** Builds a guest project (path relative to the repo root) once per test file; returns the bundle bytes. */
export function bundleOf(project: string): Promise<Uint8Array> {
  let p = cache.get(project);
  if (!p) {
    p = buildProject(join(ROOT, project), { outFile: join(out, `${project.replace(/\W/g, '_')}.wasm`) }).then((r) => r.bytes);
    cache.set(project, p);
  }
  return p;
}

/** Same, returning the path of the built file (for CLI tests). */
export async function bundleFile(project: string): Promise<string> {
  await bundleOf(project);
  return join(out, `${project.replace(/\W/g, '_')}.wasm`);
}

export const tmp = (): string => mkdtempSync(join(tmpdir(), 'roam-t-'));

export const u64 = (k: number | bigint, text = ''): Uint8Array => {
  const b = Buffer.alloc(8 + Buffer.byteLength(text));
  b.writeBigUInt64LE(BigInt(k));
  b.write(text, 8);
  return new Uint8Array(b);
};
