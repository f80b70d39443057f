// Run by test/jsguest.test.ts in a child process with --expose-gc: deploys 4 × 200 versions of a TS bundle
// in one engine, dropping each, and prints the tenant's engine memory (MiB) after each round's GC.
import { readBundle, embedManifest } from '../../engine/bundle/bundle.ts';
import { Engine } from '../../engine/runtime/engine.ts';
import { engineFor } from '../../engine/jsguest/quickjs-engine.ts';
import { buildTsProject } from '../../engine/build/build-ts.ts';
import { tsProject } from '../jsguest-helpers.ts';

const gc = (globalThis as { gc?: () => void }).gc!;
const dir = tsProject({ name: 'redeploy', handlers: [{ name: 'h', type: 1 }] }, 'import { handler } from "roam/guest";\nexport const h = handler(() => "x".repeat(1000));\n');
const bytes = (await buildTsProject(dir, { check: false })).bytes;
const e = new Engine();
const engine = engineFor('default');
const sizes: number[] = [];
for (let round = 0; round < 4; round++) {
  for (let i = 0; i < 200; i++) {
    const b = readBundle(bytes);
    e.deploy(embedManifest(b.module.bytes, { ...b.manifest, version: `${round}.${i}` })).call('h', new Uint8Array(0));
  }
  for (let k = 0; k < 3; k++) {
    gc();
    await new Promise((r) => setTimeout(r, 20)); // finalizers run in a later task
  }
  sizes.push(engine.memory.buffer.byteLength / 2 ** 20);
}
process.stdout.write(JSON.stringify(sizes) + '\n');
