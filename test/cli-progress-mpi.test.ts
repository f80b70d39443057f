// `roam cc` and `roam mpirun` start-up show progress on a terminal (util-linux's `script` gives the command a
// pseudo-terminal) and nothing in a pipe or with --quiet; the terminal's line is plain with NO_COLOR.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { roam } from './helpers/cli.ts';
import { ROOT } from './helpers/build.ts';

const dir = mkdtempSync(join(tmpdir(), 'roam-progress-'));
const RING = join(ROOT, 'functions/mpi/ring.c');
const TINY = join(dir, 'tiny.c');
const BROKEN = join(dir, 'broken.c');
writeFileSync(TINY, 'int main(void) { return 0; }\n');
writeFileSync(BROKEN, 'int main(void) { return nope; }\n');
const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/** The environment of a user's terminal: not CI, and no colour setting unless the test gives one (an empty FORCE_COLOR forces colour). */
function termEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: '', ...extra };
  for (const k of ['NO_COLOR', 'FORCE_COLOR'] as const) if (!(k in extra)) delete env[k];
  return env;
}

/** Runs roam under a pseudo-terminal; returns everything the terminal showed. */
function onTerminal(args: string[], env: Record<string, string> = {}): string {
  const cmd = [process.execPath, join(ROOT, 'bin/roam.js'), ...args].map(quote).join(' ');
  return plain(execFileSync('script', ['-qec', cmd, '/dev/null'], { cwd: ROOT, encoding: 'utf8', env: termEnv(env), timeout: 120_000 }), env.NO_COLOR === '1');
}
/** The text without its cursor and colour sequences (kept, to be asserted absent, when `raw`). */
const plain = (s: string, raw = false) => (raw ? s : s.replace(/\x1b\[[0-9;]*m/g, ''));
const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏✓✗]|\r(?!\n)|\x1b\[K/; // a terminal shows \r\n for a newline;

describe('progress of roam cc and roam mpirun', () => {
  it('roam cc: a step line on a terminal that ends in ✓; nothing in a pipe or with --quiet; a failure still shows clang\'s error', async () => {
    const out = join(dir, 'tiny.wasm');
    const tty = onTerminal(['cc', TINY, '-o', out]);
    expect(tty).toMatch(/compiling and linking tiny\.c \(clang, wasm32-wasi\)/);
    expect(tty).toMatch(/✓ compiling and linking tiny\.c.*\(\d+\.\d s\)/);
    expect(existsSync(out)).toBe(true);
    expect(onTerminal(['cc', '--quiet', TINY, '-o', join(dir, 'q.wasm')])).not.toMatch(SPINNER);
    const noColour = onTerminal(['cc', TINY, '-o', join(dir, 'nc.wasm')], { NO_COLOR: '1' });
    expect(noColour).toMatch(/✓ compiling and linking tiny\.c/);
    expect(noColour).not.toMatch(/\x1b\[\d+m/);

    const piped = await roam(['cc', TINY, '-o', join(dir, 'p.wasm')]);
    expect(piped.code).toBe(0);
    expect(piped.stdout + piped.stderr).not.toMatch(SPINNER);
    const bad = await roam(['cc', BROKEN, '-o', join(dir, 'bad.wasm')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/broken\.c:1:\d+: error: use of undeclared identifier 'nope'/);
    expect(bad.stderr).not.toMatch(SPINNER);
    const badTty = (() => {
      try {
        return onTerminal(['cc', BROKEN, '-o', join(dir, 'bad.wasm')]);
      } catch (e) {
        return plain(String((e as { stdout?: string }).stdout ?? ''));
      }
    })();
    expect(badTty).toMatch(/✗ compiling and linking broken\.c/);
    expect(badTty).toMatch(/broken\.c:1:\d+: error: use of undeclared identifier 'nope'/);
  }, 180_000);

  it('roam mpirun: ranks starting, then "N ranks in MPI_Init" on a terminal; nothing in a pipe or with -q; the job\'s output intact', async () => {
    const ring = join(dir, 'ring-run.wasm');
    expect((await roam(['cc', RING, '-o', ring])).code).toBe(0);
    const tty = onTerminal(['mpirun', '-np', '3', ring]);
    expect(tty).toMatch(/starting 3 ranks: \d\/3 in MPI_Init/);
    expect(tty).toMatch(/✓ 3 ranks in MPI_Init/);
    const piped = await roam(['mpirun', '-np', '3', ring]);
    expect(piped.code).toBe(0);
    expect(piped.stdout + piped.stderr).not.toMatch(SPINNER);
    expect(piped.stdout + piped.stderr).not.toMatch(/MPI_Init/);
    const quiet = onTerminal(['mpirun', '-q', '-np', '3', ring]);
    expect(quiet).not.toMatch(SPINNER);
    // The job printed the same either way (the progress line never takes a line of the job's own output).
    const strip = (s: string) => s.replace(/\r\n/g, '\n').split('\n').filter((l) => l && !SPINNER.test(l)).sort().join('\n');
    expect(strip(quiet)).toBe(strip(piped.stdout + piped.stderr));
  }, 180_000);
});
