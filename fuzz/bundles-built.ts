/** The functions under functions/, built once per process into a temporary directory. */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProject } from '../engine/build/assemblyscript.ts';
import { buildComponentProject, isComponentProject } from '../engine/build/componentize.ts';
import { buildTsProject, isTsProject } from '../engine/build/build-ts.ts';
import { ROOT } from './lib.ts';

const out = mkdtempSync(join(tmpdir(), 'roam-fuzz-'));
const built = new Map<string, Promise<{ file: string; bytes: Uint8Array }>>();

export function buildBundle(name: string): Promise<{ file: string; bytes: Uint8Array }> {
  let p = built.get(name);
  if (!p) {
    const dir = join(ROOT, 'functions', name);
    const outFile = join(out, `${name}.wasm`);
    // As `roam build` decides: TypeScript on QuickJS, a component (componentize-js or WAT), or AssemblyScript.
    const build = isTsProject(dir) ? buildTsProject(dir, { outFile }) : isComponentProject(dir) ? buildComponentProject(dir, { outFile }) : buildProject(dir, { outFile });
    p = build.then((r) => ({ file: outFile, bytes: r.bytes }));
    built.set(name, p);
  }
  return p;
}

/**
 * Every function project under functions/: AssemblyScript bundles and components. componentize-js
 * projects (.ts/.js entries) take 15-40 s each to build on these machines, so `components: false` leaves
 * them out (the short round in npm test); functions/mpi holds C programs, which run as jobs (roam mpirun),
 * never through a server's admission.
 */
export function functionProjects(components = true): string[] {
  return readdirSync(join(ROOT, 'functions'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(ROOT, 'functions', d.name, 'roam.json')))
    .map((d) => d.name)
    .filter((n) => components || !isJsComponent(n))
    .sort();
}

function isJsComponent(name: string): boolean {
  const dir = join(ROOT, 'functions', name);
  return !isTsProject(dir) && isComponentProject(dir) && !readdirSync(dir).some((f) => f.endsWith('.wat'));
}
