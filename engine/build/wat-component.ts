import { readFileSync } from 'node:fs';
import { RoamError } from '../errors.ts';
import { ROAM_WIT } from './roam-wit.ts';

/**
 * Assembles a core module written in WebAssembly text against roam's WIT world `function` and
 * wraps it into a component with wasm-tools (jco's bundled build): parse → embed the world → new.
 * The core module follows the canonical ABI itself (see functions/hello-wat/handler.wat).
 */
export async function watToComponent(watFile: string, world = 'function'): Promise<Uint8Array> {
  const tools = await import('@bytecodealliance/jco');
  try {
    const core = await tools.parse(readFileSync(watFile, 'utf8'));
    const embedded = await tools.componentEmbed({ binary: core, witSource: readFileSync(ROAM_WIT, 'utf8'), world });
    return await tools.componentNew(embedded);
  } catch (e) {
    throw new RoamError('E_BUILD', `cannot build a component from ${watFile}: ${String((e as Error)?.message ?? e).split('\n').slice(0, 4).join(' ')}`);
  }
}
