import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateManifest } from '../../engine/bundle/manifest.ts';
import { embedComponentManifest } from '../../engine/components/index.ts';
import { buildComponentProject } from '../../engine/build/componentize.ts';
import { ROOT, tmp } from './build.ts';

const built = new Map<string, Promise<Uint8Array>>();

/**
 * Builds a component project once per test file. componentize-js takes ~14 s for a JS project;
 * its output is cached on disk under .roam-cache/componentize by input hash, so reruns are fast.
 */
export function componentOf(project: string): Promise<Uint8Array> {
  let p = built.get(project);
  if (!p) {
    p = buildComponentProject(join(ROOT, project), { outFile: join(tmp(), 'out.wasm') }).then((r) => r.bytes);
    built.set(project, p);
  }
  return p;
}

/** A component assembled from WAT text (core module against roam's world, or a whole component) with a manifest. */
export async function watComponent(wat: string, manifest: Record<string, unknown>, whole = false): Promise<Uint8Array> {
  const tools = await import('@bytecodealliance/jco');
  let component: Uint8Array;
  if (whole) component = await tools.parse(wat);
  else {
    const dir = tmp();
    writeFileSync(join(dir, 'm.wat'), wat);
    const { watToComponent } = await import('../../engine/build/wat-component.ts');
    component = await watToComponent(join(dir, 'm.wat'));
  }
  return embedComponentManifest(component, validateManifest({ version: '1.0.0', ...manifest }));
}

export const faultyWat = (): string => readFileSync(join(ROOT, 'test/fixtures/components/faulty.wat'), 'utf8');
