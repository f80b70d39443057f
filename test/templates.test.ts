import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { roam } from './helpers/cli.ts';
import { ROOT, tmp } from './helpers/build.ts';
import { TEMPLATES } from '../engine/cli/templates.ts';
import { missing } from './helpers/system.ts';

// `roam` on PATH for the scaffolds' npm scripts, as node_modules/.bin gives it after `npm install`.
const shim = join(tmp(), 'bin');
mkdirSync(shim);
symlinkSync(join(ROOT, 'bin/roam.js'), join(shim, 'roam'));
const env = { ...process.env, PATH: `${shim}:${process.env.PATH}`, NO_COLOR: '1' };

/** `npm test` in a freshly scaffolded project: build + the template's own test. */
function npmTest(dir: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('npm', ['test'], { cwd: dir, env, timeout: 480_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr });
    });
  });
}

// CI installs clang (.ci/run); elsewhere a machine without it skips the C template with one line naming the packages.
const cSkip = missing('roam init --template mpi-c', 'wasm-clang');

/** componentize-js embeds a JS engine: a first build takes 15 s on a quiet machine, minutes under load. */
const SLOW = new Set(['ts-component', 'component']);

describe('roam init templates: each builds and passes its own test out of the box', () => {
  it('lists every template with --list (and as JSON)', async () => {
    const r = await roam(['init', '--list']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^TEMPLATE +DESCRIPTION$/);
    for (const t of ['handler', 'function', 'ts-function', 'ts-handler', 'ts-component', 'mpi-c', 'component']) expect(r.stdout).toMatch(new RegExp(`^${t} +\\S`, 'm'));
    const j = JSON.parse((await roam(['init', '--list', '--json'])).stdout) as Array<{ name: string }>;
    expect(j.map((t) => t.name).sort()).toEqual(TEMPLATES.map((t) => t.name).sort());
  });

  for (const t of TEMPLATES) {
    const skip = t.name === 'mpi-c' ? cSkip : '';
    it.skipIf(skip)(`${t.name}${skip ? ` (${skip})` : ''}`, { timeout: SLOW.has(t.name) ? 500_000 : 180_000 }, async () => {
      const dir = join(tmp(), `my-${t.name}`);
      const init = await roam(['init', dir, '--template', t.name]);
      expect(init.stderr).toBe('');
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      expect(pkg.devDependencies.roam).toBe(`file:${ROOT.replace(/\/$/, '')}`);
      const r = await npmTest(dir);
      expect(r.out).toMatch(/# pass [1-9]/);
      expect(r.out).toMatch(/# fail 0/);
      expect(r.code).toBe(0);
    });
  }

  it('the ts-component template types the handler: tsc accepts it and rejects a wrong response', async () => {
    const dir = join(tmp(), 'typed');
    expect((await roam(['init', dir, '--template', 'ts-component'])).code).toBe(0);
    const tsc = join(ROOT, 'node_modules/.bin/tsc');
    const check = () => new Promise<{ code: number; out: string }>((resolve) => execFile(tsc, ['--noEmit', '-p', dir], (err, stdout) => resolve({ code: err ? 1 : 0, out: stdout })));
    expect(await check()).toEqual({ code: 0, out: '' });
    const handler = join(dir, 'handler.ts');
    writeFileSync(handler, readFileSync(handler, 'utf8').replace('status: 200', "status: '200'").replace('request.path.length', 'request.pathname.length'));
    const bad = await check();
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/handler\.ts\(\d+,\d+\): error TS2339: Property 'pathname' does not exist on type 'RoamRequest'/);
    expect(bad.out).toMatch(/Type 'string' is not assignable to type 'number'/);
  });

  it('the ts-function template is checked by tsc against roam/guest from the installed roam', async () => {
    const dir = join(tmp(), 'qjs');
    expect((await roam(['init', dir, '--template', 'ts-function'])).code).toBe(0);
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'roam')); // what npm install of the devDependency gives
    const tsc = join(ROOT, 'node_modules/.bin/tsc');
    const check = () => new Promise<{ code: number; out: string }>((resolve) => execFile(tsc, ['--noEmit', '-p', dir], (err, stdout) => resolve({ code: err ? 1 : 0, out: stdout })));
    expect(await check()).toEqual({ code: 0, out: '' });
    const src = join(dir, 'src', 'index.ts');
    writeFileSync(src, readFileSync(src, 'utf8').replace('Response.json(200,', 'Response.json("200",'));
    const bad = await check();
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/src\/index\.ts\(\d+,\d+\): error TS2345: Argument of type 'string' is not assignable to parameter of type 'number'/);
  });

  it('refuses an unknown template with a suggestion, and a name it cannot use', async () => {
    const r = await roam(['init', join(tmp(), 'x'), '--template', 'handlr']);
    expect(r).toMatchObject({ code: 2, stderr: "roam init: unknown template 'handlr' (did you mean 'handler'?) (roam init --list shows them)\n" });
    const bad = await roam(['init', join(tmp(), 'x'), '--name', 'Bad Name']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/'Bad Name' is not a usable name/);
  });
});
