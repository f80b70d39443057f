// Components built by other toolchains deploy as they are (issue 20, item 9): a real `roam serve`, the real
// `roam deploy` CLI, plain .wasm files without a roam manifest. Guests: C (clang + wasi-libc) and Rust
// (Debian's rustc, std on wasm32-wasi), both made components with the WASI preview 1 adapter
// (test/helpers/foreign.ts, sources in test/fixtures/foreign), and a componentize-js component.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST_SECTION } from '../engine/bundle/bundle.ts';
import { parseComponent } from '../engine/bundle/component-binary.ts';
import { customSections, parseModule } from '../engine/bundle/wasm-module.ts';
import { roam, servedUrl } from './helpers/cli.ts';
import { ROOT } from './helpers/build.ts';
import { componentOf } from './helpers/components.ts';
import { foreignGuest, type ForeignGuest } from './helpers/foreign.ts';
import { missing } from './helpers/system.ts';
import { assemble } from './helpers/wasm.ts';

const noClang = missing('foreign components (C)', 'wasm-clang');
const noRust = missing('foreign components (Rust)', 'wasm-rust');
const TOKEN = 'foreign-secret';

let server: ChildProcess;
let url: string;
let dir: string;
let env: NodeJS.ProcessEnv;
let log = '';
const logWaiters: Array<() => void> = [];

/** Resolves once the server's log (its stdout, human lines here: ROAM_LOG_FORMAT=human) contains `text`. */
function logged(text: string): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (!log.includes(text)) return false;
      resolve();
      return true;
    };
    if (!check()) logWaiters.push(() => void check());
  });
}

const deploy = (...args: string[]) => roam(['deploy', ...args], { env });
async function get(fn: string, path: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${url}/fn/${fn}${path}`);
  return { status: r.status, text: await r.text() };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'roam-foreign-'));
  // The server's own environment holds a token: the guests must not see it (the WASI audit).
  server = spawn(process.execPath, [join(ROOT, 'bin/roam.js'), 'serve', '--port', '0', '--threads', '1'], { env: { ...process.env, ROAM_TOKEN: TOKEN, ROAM_LOG_FORMAT: 'human' }, stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout!.on('data', (c) => {
    log += c;
    for (const w of logWaiters.splice(0)) w();
  });
  url = await servedUrl(server);
  env = { ...process.env, ROAM_SERVER: url, ROAM_TOKEN: TOKEN };
}, 60_000);
afterAll(() => {
  server?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const hasManifest = (file: string) => (parseComponent(readFileSync(file)).customSections.get(MANIFEST_SECTION) ?? []).length > 0;

describe.skipIf(noClang)('a C component (clang + wasi-libc + the preview 1 adapter), deployed as it is', () => {
  let c: ForeignGuest;
  beforeAll(async () => {
    c = await foreignGuest('c');
  }, 60_000);

  it('deploys without a manifest: roam writes it, grants wasi:filesystem with no directories, and serves', async () => {
    expect(hasManifest(c.component)).toBe(false);
    const seen = await roam(['inspect', c.component]);
    expect(seen.stdout).toMatch(/\(component, no roam manifest: roam deploy .* --name N writes one\)/);
    expect(seen.stdout).toMatch(/^ {2}wasi:filesystem\/preopens@0\.2\.\d+$/m);
    expect(seen.stdout).toMatch(/^ {2}wasi:http\/incoming-handler@0\.2\.0$/m);
    const d = await deploy(c.component, '--name', 'hello-c');
    expect(d.stderr).toBe('');
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/deployed hello-c@0\.0\.0 \(tenant default, [0-9a-f]{12}\) functions: hello-c/);
    expect(await get('hello-c', '/ada')).toEqual({ status: 200, text: 'hello from C at /ada' });
    // wasi:filesystem is imported (the adapter's), granted with no preopened directory; no environment, no token
    expect(await get('hello-c', '/sandbox')).toEqual({ status: 200, text: 'preopens=0 env=0 token=unset passwd=refused' });
  }, 120_000);

  it("a panic's message reaches the log and the 500; the function keeps serving", async () => {
    const r = await fetch(`${url}/fn/hello-c/panic`);
    expect(r.status).toBe(500);
    const body = (await r.json()) as { error: string; message: string };
    expect(body.error).toBe('E_TRAP');
    expect(body.message).toContain('unreachable');
    expect(body.message).toContain('the guest wrote: "C guest panic: the answer is not 42"');
    await logged('[hello-c] warn: C guest panic: the answer is not 42');
    expect(await get('hello-c', '/after')).toEqual({ status: 200, text: 'hello from C at /after' });
    // no trap, no response: the 500 says so, with what the guest wrote
    expect(await get('hello-c', '/silent')).toEqual({ status: 500, text: 'wasi:http handler failed: the handler returned without setting a response; the guest wrote: "no answer for /silent"' });
  }, 60_000);

  it('a write to a stream handle the guest was never given: its message, not "Cannot read private member #size"', async () => {
    const r = await fetch(`${url}/fn/hello-c/stray`);
    expect(r.status).toBe(500);
    const body = (await r.json()) as { message: string };
    expect(body.message).not.toContain('#size');
    expect(body.message).toContain('panic: runtime error: stray handle');
    await logged('panic: runtime error: stray handle (written to output-stream handle 1234');
  }, 60_000);

  it("a trap after the memory cap refused growth says so, naming the cap and how to raise it", async () => {
    const d = await deploy(c.component, '--name', 'hello-c-small', '--memory-mib', '2');
    expect(d.code).toBe(0);
    const r = await fetch(`${url}/fn/hello-c-small/oom`);
    expect(r.status).toBe(500);
    const body = (await r.json()) as { error: string; message: string };
    expect(body.error).toBe('E_MEMORY_LIMIT');
    expect(body.message).toMatch(/memory limit exceeded: component 'hello-c-small' tried to grow its memory past the cap of 32 pages \(2 MiB\)/);
    expect(body.message).toContain('roam deploy --memory-mib');
    expect(body.message).toContain('limits.memoryPages');
    expect(await get('hello-c-small', '/x')).toEqual({ status: 200, text: 'hello from C at /x' });
  }, 60_000);

  it('a core module carrying its WIT world (wit-bindgen output) is made a component and served', async () => {
    expect(customSections(parseModule(readFileSync(c.embedded)), MANIFEST_SECTION)).toHaveLength(0);
    const d = await deploy(c.embedded, '--name', 'hello-c-core');
    expect(d.stderr).toBe('');
    expect(d.stdout).toMatch(/deployed hello-c-core@0\.0\.0/);
    expect(await get('hello-c-core', '/b')).toEqual({ status: 200, text: 'hello from C at /b' });
  }, 120_000);
});

describe.skipIf(noRust)('a Rust component (rustc, std on wasm32-wasi, the preview 1 adapter), deployed as it is', () => {
  let rust: ForeignGuest;
  beforeAll(async () => {
    rust = await foreignGuest('rust');
  }, 120_000);

  it('deploys with --name and --memory-mib and serves; a panic and an allocation failure say what happened', async () => {
    expect(hasManifest(rust.component)).toBe(false);
    const d = await deploy(rust.component, '--name', 'hello-rust', '--memory-mib', '4');
    expect(d.stderr).toBe('');
    expect(d.stdout).toMatch(/deployed hello-rust@0\.0\.0/);
    expect(await get('hello-rust', '/ada')).toEqual({ status: 200, text: 'hello from Rust at /ada' });

    const p = (await (await fetch(`${url}/fn/hello-rust/panic`)).json()) as { error: string; message: string };
    expect(p.error).toBe('E_TRAP');
    expect(p.message).toContain("panicked at 'Rust guest panic: forty-two is not a number'");
    // std writes the line in pieces; the log holds it whole
    await logged("[hello-rust] warn: thread '<unnamed>' panicked at 'Rust guest panic: forty-two is not a number'");

    const m = (await (await fetch(`${url}/fn/hello-rust/oom`)).json()) as { error: string; message: string };
    expect(m.error).toBe('E_MEMORY_LIMIT');
    expect(m.message).toContain('past the cap of 64 pages (4 MiB)');
    expect(m.message).toContain('memory allocation of 1048576 bytes failed');
    expect(await get('hello-rust', '/again')).toEqual({ status: 200, text: 'hello from Rust at /again' });
  }, 120_000);

  it('a project whose roam.json entry is the .wasm builds and deploys it as prebuilt (no AssemblyScript)', async () => {
    const project = join(dir, 'rusty');
    mkdirSync(join(project, 'target'), { recursive: true });
    writeFileSync(join(project, 'target/app.wasm'), readFileSync(rust.component));
    writeFileSync(join(project, 'roam.json'), JSON.stringify({ name: 'rusty', version: '1.2.3', entry: 'target/app.wasm', limits: { memoryPages: 128 } }));
    const b = await roam(['build', project, '--json']);
    expect(b.stderr).toBe('');
    expect(JSON.parse(b.stdout)).toMatchObject({ kind: 'component', prebuilt: true, name: 'rusty', version: '1.2.3', functions: ['rusty'] });
    const d = await deploy(project);
    expect(d.stderr).toBe('');
    expect(d.stdout).toMatch(/deployed rusty@1\.2\.3/);
    expect(await get('rusty', '/p')).toEqual({ status: 200, text: 'hello from Rust at /p' });
  }, 120_000);
});

describe('plain .wasm files roam cannot serve: one clear line, nothing deployed, the server keeps serving', () => {
  it('refuses a file that is no WebAssembly, and a component exporting nothing roam serves (naming its exports)', async () => {
    writeFileSync(join(dir, 'notes.wasm'), 'just some text\n');
    const notWasm = await deploy(join(dir, 'notes.wasm'), '--name', 'notes');
    expect(notWasm.code).toBe(1);
    expect(notWasm.stderr).toMatch(/notes\.wasm is neither a WebAssembly core module nor a component: it does not start with \\0asm/);
    const tools = await import('@bytecodealliance/jco');
    writeFileSync(join(dir, 'tool.wasm'), await tools.parse('(component (core module $m) (export "run-me" (core module $m)))'));
    const odd = await deploy(join(dir, 'tool.wasm'));
    expect(odd.code).toBe(1);
    expect(odd.stderr).toMatch(/component 'tool' exports none of 'roam:function\/handler', 'roam:function\/message-handler', 'wasi:http\/incoming-handler' \(exports: run-me\)/);
    writeFileSync(join(dir, 'core.wasm'), assemble({ functions: [{ type: [[], []], body: [] }], exports: [{ name: 'foo', func: 0 }] }));
    const core = await deploy(join(dir, 'core.wasm'), '--name', 'bar');
    expect(core.stderr).toMatch(/core module .*core\.wasm exports no function 'bar' to serve as function 'bar' \(its exported functions: foo\); give --export NAME/);
    const bad = await deploy(join(dir, 'notes.wasm'), '--memory-mib', 'lots');
    expect(bad.stderr).toMatch(/--memory-mib takes a positive number, not 'lots'/);
    const ls = await roam(['ls', '--json'], { env });
    expect(ls.stdout).not.toMatch(/"notes"|"tool"|"bar"/);
  }, 120_000);
});

describe('a componentize-js component (the ts-component template\'s toolchain) without a manifest', () => {
  it('deploys with --allow log for the log interface it imports, and is refused without it', async () => {
    // roam build embeds a manifest: drop it, as a component built by componentize-js alone has none
    const built = await componentOf('functions/hello-ts');
    const info = parseComponent(built);
    const plain = Buffer.concat([built.subarray(0, 8), ...info.sections.filter((s) => s.name !== MANIFEST_SECTION).map((s) => built.subarray(s.start, s.end))]);
    const file = join(dir, 'hello-ts.wasm');
    writeFileSync(file, plain);
    expect(hasManifest(file)).toBe(false);
    const refused = await deploy(file, '--name', 'plain-ts', '--memory-mib', '32');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/imports 'roam:function\/log@0\.1\.0' but its manifest does not declare capability 'log'/);
    const d = await deploy(file, '--name', 'plain-ts', '--memory-mib', '32', '--allow', 'log');
    expect(d.stderr).toBe('');
    const r = await get('plain-ts', '/ada');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ greeting: 'hello, ada', method: 'GET' });
    await logged('[plain-ts] info: greet ada');
  }, 600_000); // componentize-js: minutes the first time on a loaded machine, then cached
});
