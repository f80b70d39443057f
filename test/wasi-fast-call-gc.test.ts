import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Regression: a guest calling node:wasi straight from TurboFan code ran each call as a V8 fast API
// call; uvwasi's allocations report to V8, and past 64 MiB of external memory (a grown linear
// memory counts) that report ran a GC inside the fast call and corrupted the heap (native MPI
// ranks with 64 MiB died in V8; nodejs/node#46777). createWasi now hands guests JS wrappers.
// In a child process: the guest grows 256 MiB at once and 512 KiB between calls, so with the old
// code a GC lands inside a call every run (10 of 10 aborted: SIGABRT in uvwasi_fd_table_free).
const CHILD = fileURLToPath(new URL('./helpers/wasi-grow-write.ts', import.meta.url));

describe('WASI calls from TurboFan code with a linear memory past 64 MiB', () => {
  it('writes every line and exits 0 (no GC inside a fast API call)', () => {
    const writes = 500;
    const out = join(mkdtempSync(join(tmpdir(), 'roam-wasi-')), 'stdout');
    const r = spawnSync(process.execPath, ['--no-liftoff', '--import', 'tsx', CHILD, String(writes), out], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('ok\n'.repeat(writes));
  });
});
