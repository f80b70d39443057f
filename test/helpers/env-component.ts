import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateManifest } from '../../engine/bundle/manifest.ts';
import { embedComponentManifest } from '../../engine/components/index.ts';
import { ROOT } from './build.ts';

/** test/fixtures/components/env.wat against env.wit, function `envfn`: answers 200 + the number of
 *  variables in its wasi:cli/environment, body "NAME=value\n" per variable. */
export async function envComponent(manifest: Record<string, unknown> = {}): Promise<Uint8Array> {
  const tools = await import('@bytecodealliance/jco');
  const dir = join(ROOT, 'test/fixtures/components');
  const core = await tools.parse(readFileSync(join(dir, 'env.wat'), 'utf8'));
  const embedded = await tools.componentEmbed({ binary: core, witSource: readFileSync(join(dir, 'env.wit'), 'utf8'), world: 'env-fn' });
  return embedComponentManifest(await tools.componentNew(embedded), validateManifest({ name: 'envfn', version: '1.0.0', functions: [{ name: 'envfn' }], ...manifest }));
}
