// Shared by the gateway, chain and tenancy suites: builds AssemblyScript fixtures once (cached by a hash
// of their sources and the SDK in .roam-cache/, since an -O3 build takes seconds) and starts gateways.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProject } from '../engine/build/assemblyscript.ts';
import { embedManifest, readBundle } from '../engine/bundle/bundle.ts';
import type { Manifest } from '../engine/bundle/manifest.ts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

function sourcesHash(dirs: string[]): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const f of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (f.name === 'build' || f.name === 'node_modules') continue;
      const p = join(d, f.name);
      if (f.isDirectory()) walk(p);
      else if (/\.(ts|json)$/.test(f.name)) h.update(p).update(readFileSync(p));
    }
  };
  for (const d of dirs) walk(d);
  h.update(readFileSync(join(ROOT, 'engine/build/assemblyscript.ts')));
  return h.digest('hex').slice(0, 16);
}

/** The bundle bytes of the AssemblyScript project at `dir` (relative to the repo root). */
export async function buildFixture(dir: string): Promise<Uint8Array> {
  const abs = join(ROOT, dir);
  const key = sourcesHash([abs, join(ROOT, 'guest-sdk/assembly')]);
  const cacheDir = join(ROOT, '.roam-cache/fixtures');
  const file = join(cacheDir, `${dir.replace(/[^a-z0-9]+/gi, '_')}-${key}.wasm`);
  if (existsSync(file)) return readFileSync(file);
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const { bytes } = await buildProject(abs, { outFile: tmp });
  renameSync(tmp, file);
  return bytes;
}

/** Re-embeds a changed manifest (another name, tenant, fuel…) into a built bundle. */
export function variant(bytes: Uint8Array, change: Partial<Manifest>): Uint8Array {
  const { manifest, module } = readBundle(bytes);
  return embedManifest(module.bytes, { ...manifest, ...change });
}
