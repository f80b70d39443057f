import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { roam } from './helpers/cli.ts';
import { ROOT, tmp } from './helpers/build.ts';

/** A running `roam dev`: its output so far, and a wait for the next line matching a pattern. */
class Dev {
  out = '';
  err = '';
  #waiters: Array<{ re: RegExp; from: number; stream: 'out' | 'err'; resolve: (m: RegExpExecArray) => void }> = [];
  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (c) => { this.out += c; this.#check(); });
    child.stderr!.on('data', (c) => { this.err += c; this.#check(); });
  }
  /** Resolves with the first match of `re` in stdout (or stderr) written after offset `from`. */
  next(re: RegExp, from = this.mark(), stream: 'out' | 'err' = 'out'): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      this.#waiters.push({ re, from, stream, resolve });
      this.child.once('exit', (code) => reject(new Error(`roam dev exited (${code}) waiting for ${re}:\n${this.out}\n${this.err}`)));
      // a bound that names what was seen (the test's own timeout would say nothing)
      setTimeout(() => reject(new Error(`no ${re} after 120 s:\n${this.out}\n${this.err}`)), 120_000).unref();
      this.#check();
    });
  }
  mark(): number {
    return this.out.length;
  }
  #check(): void {
    this.#waiters = this.#waiters.filter((w) => {
      const m = w.re.exec(this[w.stream].slice(w.from));
      if (m) w.resolve(m);
      return !m;
    });
  }
}

const running: ChildProcess[] = [];
afterAll(() => {
  for (const c of running) if (c.exitCode === null) c.kill('SIGKILL');
});

/** Writes a temp file beside `file` and renames it over `file`, as editors' atomic saves do. */
function saveAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp-save`, text);
  renameSync(`${file}.tmp-save`, file);
}

const call = async (url: string) => {
  const r = await fetch(url);
  return `${r.status} ${await r.text()}`;
};

describe('roam dev: serve, build, deploy, and again on every save', () => {
  it('serves the new reply after an edit, reports a broken save with its line and keeps the last good version serving (atomic saves included)', async () => {
    const dir = join(tmp(), 'greeter');
    expect((await roam(['init', dir, '--template', 'function'])).code).toBe(0);
    const child = spawn(process.execPath, [join(ROOT, 'bin/roam.js'), 'dev', dir, '--port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    running.push(child);
    const dev = new Dev(child);
    const [, url] = await dev.next(/serving on (http:\/\/[^\s"]+)/, 0);
    const first = await dev.next(/deployed greeter@0\.1\.0 \(([0-9a-f]{12})/, 0);
    expect(await call(`${url}/fn/greeter/ada`)).toBe('200 {"greeting":"hello, ada"}');
    // the guest's log line reaches the terminal
    await dev.next(/\[greeter\] info: GET \/ada/, 0);

    const src = join(dir, 'assembly', 'index.ts');
    let at = dev.mark();
    // regression: editors save atomically (a temp file renamed over the source, as vim and sed -i do); Node 20's
    // recursive watcher lost the file after the first such save, so both edits below are atomic
    saveAtomically(src, readFileSync(src, 'utf8').replace(`'{"greeting":"hello, '`, `'{"greeting":"howdy, '`));
    const second = await dev.next(/deployed greeter@0\.1\.0 \(([0-9a-f]{12})/, at); // identical rebuilds print 'unchanged', not 'deployed'
    expect(second[1]).not.toBe(first[1]);
    expect(await call(`${url}/fn/greeter/ada`)).toBe('200 {"greeting":"howdy, ada"}');

    at = dev.mark();
    const errAt = dev.err.length;
    saveAtomically(src, readFileSync(src, 'utf8').replace('return respond(', 'return respnd('));
    const [failed] = await dev.next(/failed: .*/, at);
    expect(failed).toMatch(/^failed: assembly\/index\.ts:\d+:\d+: error TS2304: Cannot find name 'respnd'\. \(still serving greeter@0\.1\.0, [0-9a-f]{12}\)$/);
    await dev.next(/\| +return respnd\(/, errAt, 'err'); // the code frame
    expect(await call(`${url}/fn/greeter/ada`)).toBe('200 {"greeting":"howdy, ada"}');

    at = dev.mark();
    writeFileSync(src, readFileSync(src, 'utf8').replace('return respnd(', 'return respond(').replace(`'{"greeting":"howdy, '`, `'{"greeting":"hi, '`));
    await dev.next(/deployed greeter@0\.1\.0/, at);
    expect(await call(`${url}/fn/greeter/ada`)).toBe('200 {"greeting":"hi, ada"}');

    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
  });

  it('refuses a directory without roam.json', async () => {
    const r = await roam(['dev', tmp(), '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^roam dev: no roam\.json in .* \(create a project with roam init\)\n$/);
  });
});
