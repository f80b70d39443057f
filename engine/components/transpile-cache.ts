import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RoamError } from '../errors.ts';
import { cacheDir } from './cache-dir.ts';

/** Name of the generated entry module inside a transpiled directory. */
export const ENTRY = 'component.js';

/**
 * jco's generated glue reads `process.env.JCO_DEBUG` on every lifted call (a slow interceptor in
 * Node; a quarter of a hello call's time when profiled). Read it once at module load instead.
 */
export function hoistDebugFlag(js: Uint8Array): string | Uint8Array {
  const text = new TextDecoder().decode(js);
  const needle = 'globalThis?.process?.env?.JCO_DEBUG';
  if (!text.includes(needle)) return js;
  return `const __roamJcoDebug = ${needle};\n${text.replaceAll(needle, '__roamJcoDebug')}`;
}

/**
 * Transpiles a component with jco once per content hash into `.roam-cache/components/<hash>/`.
 * Instantiation mode 'async': the generated ESM exports `instantiate(getCoreModule, imports)` and
 * imports nothing itself, so the worker decides every import (no ambient preview2-shim access).
 */
export async function transpileCached(bytes: Uint8Array, hash: string): Promise<{ dir: string; cached: boolean; ms: number }> {
  const dir = cacheDir('components', hash);
  if (existsSync(join(dir, ENTRY))) return { dir, cached: true, ms: 0 };
  const { transpile } = await import('@bytecodealliance/jco');
  const t0 = performance.now();
  let files: Record<string, Uint8Array>;
  try {
    ({ files } = await transpile(bytes, { name: 'component', instantiation: 'async', noTypescript: true, quiet: true, noComponentErrorWrapping: false }));
  } catch (e) {
    throw new RoamError('E_MALFORMED', `jco could not transpile the component: ${String((e as Error)?.message ?? e).split('\n')[0]}`);
  }
  const ms = performance.now() - t0;
  // Write into a temporary directory and rename, so a concurrent deploy never sees half a directory.
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  for (const [name, data] of Object.entries(files)) {
    const p = join(tmp, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, name === ENTRY ? hoistDebugFlag(data) : data);
  }
  writeFileSync(join(tmp, 'package.json'), '{"type":"module"}\n');
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another deploy won the race; its output is identical
  }
  return { dir, cached: false, ms };
}
