import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { embedManifest, readBundle, validateManifest } from '../engine/index.ts';
import { roam } from './helpers/cli.ts';
import { bundleFile, bundleOf, ROOT, tmp } from './helpers/build.ts';
import { abiModule } from './helpers/wasm.ts';

/** A CLI failure is exactly one line on stderr naming the problem, and a non-zero exit. */
function oneLineError(r: { code: number; stderr: string }, pattern: RegExp) {
  expect(r.code).not.toBe(0);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

describe('roam CLI: init → build → inspect → run', () => {
  it('scaffolds, builds, inspects and runs a new project', async () => {
    const dir = join(tmp(), 'my-fn');
    const init = await roam(['init', dir, '--template', 'handler']);
    expect(init.code).toBe(0);
    for (const f of ['roam.json', 'assembly/index.ts', 'package.json', 'README.md', '.gitignore', 'test/echo.test.mjs']) expect(existsSync(join(dir, f))).toBe(true);

    const build = await roam(['build', dir]);
    expect(build.stderr).toBe('');
    expect(build.stdout).toMatch(/built .*my-fn\.wasm \(\d+ bytes\): my-fn@0\.1\.0, 1 handler\(s\), 0 function\(s\)/);
    const wasm = join(dir, 'build', 'my-fn.wasm');
    const asJson = JSON.parse((await roam(['build', dir, '--json'])).stdout);
    expect(asJson).toMatchObject({ kind: 'module', name: 'my-fn', handlers: ['echo'], functions: [] });

    const human = await roam(['inspect', wasm]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/hash\s+sha256:[0-9a-f]{64}/);
    expect(human.stdout).toMatch(/echo\s+1\s+echo/);
    const json = JSON.parse((await roam(['inspect', wasm, '--json'])).stdout);
    expect(json.manifest.handlers[0]).toMatchObject({ name: 'echo', type: 1 });
    expect(json.hash).toBe(readBundle(new Uint8Array(readFileSync(wasm))).hash);
    expect(json.exports.map((e: { name: string }) => e.name)).toEqual(expect.arrayContaining(['echo', 'roam_in', 'roam_out', 'memory']));

    const run = await roam(['run', wasm, '--handler', 'echo', '--input', 'hi there']);
    expect(run).toMatchObject({ code: 0, stdout: 'echo: hi there\n' });
    const fn = await roam(['run', await bundleFile('functions/hello'), '--function', 'greet', '--method', 'POST', '--path', '/x']);
    expect(fn.code).toBe(0);
    expect(fn.stdout).toMatch(/^200\ncontent-type: application\/json\n\n\{"greeting":"hello, x","method":"POST"\}\n$/);
  });

  it('shows build progress on a terminal and none in a pipe', async () => {
    const hasScript = (() => { try { execFileSync('script', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();
    const piped = await roam(['build', 'functions/hello', '-o', join(tmp(), 'h.wasm')]);
    expect(piped.stderr).toBe('');
    if (!hasScript) return; // util-linux's script gives the command a terminal
    const out = join(tmp(), 'h.wasm');
    const tty = execFileSync('script', ['-qec', `${process.execPath} bin/roam.js build functions/hello --force -o ${out}`, '/dev/null'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: '', NO_COLOR: '1' } });
    expect(tty).toMatch(/compiling hello \(AssemblyScript\) \d+\.\d s/); // the spinner's step and elapsed time
    expect(tty).toMatch(/✓ compiling hello \(AssemblyScript\) \(\d+\.\d s\)/);
    expect(tty).toMatch(/built .*h\.wasm/);
  });

  it('answers -v, --version and version with the package version', async () => {
    const v = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
    for (const args of [['-v'], ['--version'], ['version']]) expect(await roam(args)).toEqual({ code: 0, stdout: `roam ${v} (node ${process.version})\n`, stderr: '' });
    expect(JSON.parse((await roam(['version', '--json'])).stdout)).toEqual({ roam: v, node: process.version });
  });

  it('completes commands, flags and template names in bash', async () => {
    const script = await roam(['completion', 'bash']);
    expect(script.code).toBe(0);
    const file = join(tmp(), 'roam.bash');
    writeFileSync(file, script.stdout);
    const complete = (...words: string[]) => execFileSync('bash', ['-c', `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _roam; echo "\${COMPREPLY[*]}"`], { encoding: 'utf8' }).trim();
    expect(complete('roam', 'bu')).toBe('build');
    expect(complete('roam', 'build', '--js')).toBe('--json');
    expect(complete('roam', 'init', '--template', 'ts')).toBe('ts-function ts-handler ts-component');
    expect(complete('roam', 'init', '--template', 'mp')).toBe('mpi-c');
    expect(complete('roam', 'completion', '')).toBe('bash zsh');
    expect(complete('roam', 'deploy', 'app.wasm', '--mem')).toBe('--memory-mib');
    expect(complete('roam', 'deploy', 'app.wasm', '--allow', 'wasi:s')).toBe('wasi:sockets');
    oneLineError(await roam(['completion', 'fish']), /usage: roam completion bash\|zsh/);
  });

  it('runs kv calls in order against the same regions, with every input form', async () => {
    const kv = await bundleFile('functions/kv');
    const dir = tmp();
    writeFileSync(join(dir, 'key.bin'), Buffer.from('0900000000000000', 'hex'));
    const r = await roam(['run', kv, '--call', 'put=u64:9,nine', '--call', 'get=@' + join(dir, 'key.bin'), '--call', 'get=hex:0900000000000000', '--call', 'del=0x0900000000000000']);
    expect(r).toMatchObject({ code: 0, stdout: '\nnine\nnine\n\n' });
  });

  it('prints help with usage and examples for every command', async () => {
    const top = await roam(['--help']);
    expect(top.code).toBe(0);
    const { COMMANDS } = await import('../engine/cli/front.mjs');
    for (const cmd of COMMANDS.map((c) => c.name)) {
      expect(top.stdout).toContain(cmd);
      const h = await roam([cmd, '--help']);
      expect(h.code).toBe(0);
      expect(h.stdout, cmd).toMatch(/^Usage: (roam |mpiexec .* roam )/);
      expect(h.stdout, cmd).toMatch(/\nExamples:\n {2}\S/);
    }
  });
});

describe('roam CLI: bad input gets one clear line and a non-zero exit', () => {
  it('usage errors', async () => {
    oneLineError(await roam(['frobnicate']), /unknown command 'frobnicate'/);
    oneLineError(await roam(['run']), /run takes one bundle file/);
    oneLineError(await roam(['run', 'x.wasm', '--bogus']), /unknown option '--bogus'/);
    oneLineError(await roam(['biuld']), /unknown command 'biuld' \(did you mean 'build'\?\)/);
    oneLineError(await roam(['run', 'x.wasm', '--handlr', 'h']), /unknown option '--handlr' \(did you mean '--handler'\?\)/);
    oneLineError(await roam(['inspect', '/no/such/file.wasm']), /cannot read \/no\/such\/file\.wasm: ENOENT/);
  });

  it('malformed bytes, no manifest, disallowed import, bad export, memory over limit', async () => {
    const dir = tmp();
    const file = (name: string, bytes: Uint8Array) => { const p = join(dir, name); writeFileSync(p, bytes); return p; };
    const mf = validateManifest({ name: 't', version: '1', handlers: [{ name: 'h' }], limits: { memoryPages: 16, fuel: 1000 } });
    oneLineError(await roam(['run', file('junk.wasm', Buffer.from('\0asm\x01\0\0\0garbage')), '--handler', 'h']), /^roam run: malformed Wasm module/);
    oneLineError(await roam(['run', file('bare.wasm', abiModule()), '--handler', 'h']), /not a roam bundle: no 'roam\.manifest' custom section/);
    oneLineError(await roam(['inspect', file('bare2.wasm', abiModule())]), /not a roam bundle/);
    const imp = abiModule({ imports: [{ module: 'env', name: 'seed', type: [[], ['f64']] }] });
    oneLineError(await roam(['run', file('imp.wasm', embedManifest(imp, mf)), '--handler', 'h']), /import env\.seed: no such capability module/);
    oneLineError(await roam(['run', file('exp.wasm', embedManifest(abiModule(), { ...mf, handlers: [{ name: 'h', type: 1, export: 'nope', regions: [] }] })), '--handler', 'h']), /missing export 'nope'/);
    oneLineError(await roam(['run', file('mem.wasm', embedManifest(abiModule({ memory: [1, 100] }), mf)), '--handler', 'h']), /memory maximum 100 pages is over the limit of 16 pages/);
  });

  it('infinite loop, recursion, memory growth and traps at run time', async () => {
    const bad = await bundleFile('test/fixtures/misbehave');
    oneLineError(await roam(['run', bad, '--handler', 'spin']), /^roam run: fuel exhausted: 'spin'/);
    oneLineError(await roam(['run', bad, '--handler', 'recurse']), /^roam run: (call stack exhausted|fuel exhausted).*'recurse'/);
    oneLineError(await roam(['run', bad, '--handler', 'grow']), /^roam run: memory limit exceeded: 'grow'/);
    oneLineError(await roam(['run', bad, '--handler', 'boom']), /^roam run: 'boom' trapped: unreachable$/);
    oneLineError(await roam(['run', bad, '--handler', 'missing']), /has no handler or function 'missing'/);
  });

  it('build errors name file:line:col relative to the current directory, with a code frame', async () => {
    const dir = join(tmp(), 'broken');
    expect((await roam(['init', dir])).code).toBe(0);
    writeFileSync(join(dir, 'assembly', 'index.ts'), 'export function echo(len: i32): i32 { return nope; }\n');
    const r = await roam(['build', 'broken'], { cwd: join(dir, '..') });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').slice(0, 3)).toEqual([
      "roam build: broken/assembly/index.ts:1:46: error TS2304: Cannot find name 'nope'.",
      '  1 | export function echo(len: i32): i32 { return nope; }',
      '    | ' + ' '.repeat(45) + '^^^^',
    ]);
    writeFileSync(join(dir, 'assembly', 'index.ts'), 'export function echo(len: i32): i32 {\n  return 1 +;\n}\n');
    expect((await roam(['build', dir], { cwd: dir })).stderr).toMatch(/^roam build: assembly\/index\.ts:2:13: error TS1109: Expression expected\.\n {2}2 \| {3}return 1 \+;\n/);
    // roam.json with a trailing comma: line and column, not V8's "position N"
    writeFileSync(join(dir, 'roam.json'), '{\n  "name": "broken",\n  "version": "1.0.0",\n}\n');
    oneLineError(await roam(['build', dir], { cwd: dir }), /^roam build: roam\.json:4:1: not valid JSON: Expected double-quoted property name \(a trailing comma\?\)$/);
    // a TypeScript handler that is async would deploy and then answer every call 500 (no JSPI in Node 20)
    writeFileSync(join(dir, 'roam.json'), JSON.stringify({ name: 'broken', version: '1.0.0', entry: 'handler.ts', functions: [{ name: 'broken' }] }));
    writeFileSync(join(dir, 'handler.ts'), 'export default {\n  async fetch(request: unknown) {\n    return "hi";\n  },\n};\n');
    oneLineError(await roam(['build', dir], { cwd: dir }), /^roam build: handler\.ts:2:3: the handler is async: Node 20 has no JSPI/);
    oneLineError(await roam(['init', dir]), /exists and is not empty/);
    await bundleOf('functions/hello');
  });
});
