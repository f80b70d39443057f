// TypeScript guests for the QuickJS engine: the examples, and throwaway projects written into a temp dir.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTsProject } from '../engine/build/build-ts.ts';

const built = new Map<string, Promise<Uint8Array>>();
/** The bundle of a TS project in the repo (functions/hello-qjs, functions/kv-ts), built once per file. */
export function tsBundle(dir: string): Promise<Uint8Array> {
  let b = built.get(dir);
  if (!b) built.set(dir, (b = buildTsProject(dir, { outFile: join(mkdtempSync(join(tmpdir(), 'roam-ts-')), 'out.wasm') }).then((r) => r.bytes)));
  return b;
}

/** Writes a TS guest project (roam.json + src/index.ts) into a fresh temp dir; returns the dir. */
export function tsProject(manifest: Record<string, unknown>, source: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'roam-ts-'));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'roam.json'), JSON.stringify({ version: '1.0.0', lang: 'ts', ...manifest }));
  writeFileSync(join(dir, 'src/index.ts'), source);
  return dir;
}
