import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildProject, SDK_DIR } from './assemblyscript.ts';

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'build' || e.name === 'node_modules') continue;
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** The project's bundle at build/<name>.wasm, rebuilt only when a source or the SDK is newer (asc is slow). */
export async function cachedBuild(dir: string): Promise<Uint8Array> {
  const name = JSON.parse(readFileSync(join(dir, 'roam.json'), 'utf8')).name as string;
  const out = join(dir, 'build', `${name}.wasm`);
  if (existsSync(out) && statSync(out).mtimeMs > Math.max(newest(dir), newest(SDK_DIR))) return readFileSync(out);
  return (await buildProject(dir, { outFile: out })).bytes;
}
