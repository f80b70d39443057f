// The engine's layers import only downward (engine/README.md states them). Each engine folder has a
// layer; an import from a folder of a higher layer is a violation, named with the importing file.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ENGINE = join(import.meta.dirname, '../engine');

/** Lowest first; folders on one line are one layer (they may import each other). Keep in step with engine/README.md. */
const LAYERS: string[][] = [
  ['errors.ts', 'bytes.ts', 'observe'], // shared by every layer: errors, byte copies, the one logger and Prometheus conventions
  ['bundle', 'meter'], // binary format: LEB, sections, module and component reader/writer, manifest, fuel rewrite
  ['capabilities', 'regions', 'shm', 'gpu'], // what a guest may import, with what backs it
  ['admission', 'verify'], // bytes → parse → verify → meter → compile, cached
  ['runtime', 'components', 'jsguest'], // Engine, Deployment, instances, guest ABIs, component workers, the QuickJS engine for TS guests
  ['places', 'steering', 'wire', 'client', 'rdma'], // host pool, inline lane, DPU agent, client place, steering, the wire format, UCX
  ['server', 'http', 'chains', 'tenancy', 'state', 'dashboard'], // one registry, two front doors, chains, tenants, persistence, the live page
  ['mpi', 'wasi'], // jobs: MPI and WASI programs, a program model of their own
  ['build', 'demo'], // tools: build drivers, the demo and YCSB
  ['cli'],
  ['index.ts', 'api'], // the public API and the package's entries (roam, roam/client, roam/server)
];

const layerOf = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i] as const)));

function* sources(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sources(p);
    else if (/\.(ts|mjs)$/.test(e.name)) yield p;
  }
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|new URL\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

describe('engine layers', () => {
  it('every engine folder has a layer', () => {
    const top = readdirSync(ENGINE).filter((n) => !n.endsWith('.md'));
    expect(top.filter((n) => !layerOf.has(n))).toEqual([]);
  });

  it('no module imports from a higher layer', () => {
    const violations: string[] = [];
    for (const file of sources(ENGINE)) {
      const rel = relative(ENGINE, file);
      const from = rel.split('/')[0]!;
      for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const target = normalize(join(dirname(rel), m[1]!));
        if (target.startsWith('..')) continue; // outside engine/ (native-host, node_modules)
        const to = target.split('/')[0]!;
        if ((layerOf.get(to) ?? -1) > (layerOf.get(from) ?? -1)) violations.push(`${rel} imports ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('the places hold no front door: no module in places/ decodes frames, serves sockets or checks tokens', () => {
    // The wire front door is engine/server/wire-door.ts; places/router.ts takes messages from it (issue 13).
    const door = /wire\/(decoder|native-net|flow|out-buffer)\.ts|tenancy\/|\bWireAuth\b|\bPrincipal\b/;
    const found: string[] = [];
    for (const file of sources(join(ENGINE, 'places'))) if (door.test(readFileSync(file, 'utf8'))) found.push(relative(ENGINE, file));
    expect(found).toEqual([]);
  });
});
