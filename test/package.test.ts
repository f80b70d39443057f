import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tmp } from './helpers/build.ts';

function run(cmd: string, args: string[], cwd: string, timeout = 300_000): Promise<{ code: number; out: string; stdout?: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout, maxBuffer: 64 << 20, env: { ...process.env, NO_COLOR: '1', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr, ...(cmd === 'npm' ? { stdout } : {}) });
    });
  });
}

describe('the npm package', () => {
  it('the plain-JS entries export exactly what the TypeScript entries do', async () => {
    const pairs: Array<[string, string]> = [['../engine/api/roam.mjs', '../engine/index.ts'], ['../engine/api/client.mjs', '../engine/client/index.ts'], ['../engine/api/server.mjs', '../engine/api/server.ts']];
    for (const [js, ts] of pairs) {
      const names = (m: object) => Object.keys(m).filter((k) => k !== 'default').sort();
      expect(names(await import(js)), js).toEqual(names(await import(ts)));
    }
  });

  // npm pack, then the README's install path from a directory that is not the checkout: npx roam init,
  // npm install (the tarball and its dependencies; --prefer-offline uses npm's cache), npm run build,
  // npm test, and `roam`, `roam/client`, `roam/server` imported from JS and type-checked from TS.
  it('packs a tarball that scaffolds, installs, builds and tests a project from any directory', { timeout: 600_000 }, async () => {
    const work = tmp();
    const pack = await run('npm', ['pack', '--pack-destination', work, '--json'], ROOT);
    expect(pack.code, pack.out).toBe(0);
    const info = JSON.parse(pack.stdout!.slice(pack.stdout!.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = info[0]!.files.map((f) => f.path);
    for (const f of ['bin/roam.js', 'engine/api/roam.mjs', 'engine/build/asc-worker.mjs', 'types/engine/index.d.ts', 'types/engine/client/index.d.ts', 'templates/function/roam.json', 'templates/ts-component/roam-function.d.ts', 'templates/ts-handler/src/index.ts', 'guest-sdk/assembly/index.ts', 'functions/kv/roam.json']) expect(files).toContain(f);
    expect(files.filter((f) => /^(test|benchmarks)\/|^functions\/(?!kv\/)|native-host\/build\//.test(f))).toEqual([]);
    const tarball = join(work, info[0]!.filename);

    const init = await run('npx', ['--yes', '--prefer-offline', '--package', tarball, 'roam', 'init', 'foo'], work);
    expect(init.out).toMatch(/created foo from template function/);
    const foo = join(work, 'foo');
    expect(JSON.parse(readFileSync(join(foo, 'package.json'), 'utf8')).devDependencies.roam).toBe(`file:${tarball}`);
    const install = await run('npm', ['install', '--prefer-offline'], foo);
    expect(install.code, install.out).toBe(0);
    const build = await run('npm', ['run', 'build'], foo);
    expect(build.out).toMatch(/built build\/foo\.wasm \(\d+ bytes\): foo@0\.1\.0/);
    const test = await run('npm', ['test'], foo);
    expect(test.out).toMatch(/# pass 1/);
    expect(test.code).toBe(0);

    writeFileSync(join(foo, 'use.mjs'), `import { Engine, RoamError } from 'roam';
import { connect } from 'roam/client';
import { serve } from 'roam/server';
import { readFileSync } from 'node:fs';
const d = new Engine().deploy(readFileSync('build/foo.wasm'));
console.log(typeof connect, typeof serve, d.manifest.name, new RoamError('E_X', 'x') instanceof Error);
`);
    const use = await run('node', ['use.mjs'], foo);
    expect(use.out).toBe('function function foo true\n');

    mkdirSync(join(foo, 'ts'));
    writeFileSync(join(foo, 'ts', 'use.ts'), `import { Engine, type Manifest } from 'roam';
import { connect, type Client } from 'roam/client';
import { serve } from 'roam/server';
const m: Manifest['name'] = new Engine().deploy(new Uint8Array()).manifest.name;
const c: Promise<Client> = connect(7878);
void serve; void m; void c;
`);
    writeFileSync(join(foo, 'ts', 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: true, typeRoots: [join(ROOT, 'node_modules/@types')], types: ['node'] }, files: ['use.ts'] }));
    const tsc = await run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(foo, 'ts')], foo);
    expect(tsc.out).toBe('');
    expect(tsc.code).toBe(0);
  });
});
