import { beforeAll, describe, expect, it } from 'vitest';
import { missing } from './helpers/system.ts';
import { examples, roam, run, BUILD_TIMEOUT_MS } from './mpi-helpers.ts';

let ex: Record<string, string>;
// Needs clang for wasm32-wasi (roam cc), and a system MPI for --mpi native: skipped with one line without them (not in CI).
const skip = { embedded: missing('MPI faults (embedded)', 'wasm-clang'), native: missing('MPI faults (native)', 'wasm-clang', 'mpich') };
beforeAll(async () => {
  if (!skip.embedded) ex = await examples(['bad', 'unknown-import', 'ring']);
}, BUILD_TIMEOUT_MS);

for (const mpi of ['embedded', 'native'] as const) {
  describe.skipIf(skip[mpi])(`faults on the ${mpi} MPI: clear error naming rank and call, whole job torn down`, () => {
    const bad = (mode: string, timeout = '60') => roam('mpirun', '--mpi', mpi, '-np', '2', '--timeout', timeout, ex.bad, mode);

    it('refuses a send buffer outside linear memory', async () => {
      const r = await bad('oob');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/rank 1: MPI_Send: buffer \[2147483632, 2147483648\) is outside the guest's linear memory/);
    });

    it('refuses a count whose extent runs past linear memory', async () => {
      const r = await bad('count');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/rank 1: MPI_Send: buffer \[\d+, 1073\d+\) is outside/);
    });

    it('refuses an invalid communicator handle', async () => {
      const r = await bad('handle');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('rank 1: MPI_Send: invalid communicator handle 0x7777');
    });

    it('reports a rank that traps', async () => {
      const r = await bad('trap');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('rank 1: trap: unreachable');
    });

    // Regression: UCX (under MPICH) replaced V8's SIGSEGV handler, so the guard-page fault of an
    // out-of-bounds load killed the native rank with signal 11 instead of trapping.
    it('reports a load outside linear memory as a trap', async () => {
      const r = await bad('load');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('rank 1: trap: memory access out of bounds');
    });

    it("takes the job's exit code from a rank that exits non-zero", async () => {
      const r = await bad('exit');
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('rank 1: exited with code 3');
    });

    it('ends the job with MPI_Abort’s code', async () => {
      const r = await bad('abort');
      expect(r.code).toBe(7);
      expect(r.stderr).toContain('rank 1: MPI_Abort called with error code 7');
    });

    it('reports truncation when a message is larger than the receive buffer', async () => {
      const r = await bad('truncate');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('rank 1: MPI_Recv: message truncated: 32 bytes from rank 0 (tag 0) do not fit the receive buffer of 16 bytes');
    });

    it('tears down a deadlocked job at --timeout', async () => {
      const r = await bad('deadlock', '5');
      expect(r.code).toBe(124);
      expect(r.stderr).toContain('job timed out after 5000 ms');
      // Native: each rank's JS thread is blocked inside libmpi's MPI_Recv; native-host answers SIGUSR1.
      expect(r.stderr).toContain('deadlock?): rank 0 in MPI_Recv(source MPI_ANY_SOURCE, tag 0, MPI_COMM_WORLD), rank 1 in MPI_Recv(source MPI_ANY_SOURCE, tag 0, MPI_COMM_WORLD)');
    });

    it('names each blocked call with its own peer and tag at --timeout', async () => {
      const r = await bad('mismatch', '3');
      expect(r.code).toBe(124);
      expect(r.stderr).toContain('rank 0 in MPI_Recv(source 1, tag 7, MPI_COMM_WORLD), rank 1 in MPI_Ssend(dest 0, tag 9, MPI_COMM_WORLD)\n');
      expect(r.stderr).not.toContain('roam-mpi-call');
    });

    it('fails at load naming an MPI function the host does not provide', async () => {
      const r = await roam('mpirun', '--mpi', mpi, '-np', '2', ex['unknown-import']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('roam:mpi.MPI_File_close, which this host does not provide');
    });
  });
}

describe.skipIf(skip.native)('roam rank under the system launcher', () => {
  it('runs each rank as a Node process started by mpiexec', async () => {
    const { ROAM } = await import('./mpi-helpers.ts');
    const r = await run('mpiexec', ['-n', '3', process.execPath, ROAM, 'rank', ex.ring, '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ring: 3 ranks, 2 laps, token 6');
  });
});

describe.skipIf(skip.embedded)('roam cc', () => {
  it('names the missing header instead of falling back to the host headers', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'roam-cc-'));
    writeFileSync(join(dir, 'p.c'), '#include <pthread.h>\nint main(void){return 0;}\n');
    const r = await roam('cc', join(dir, 'p.c'), '-o', join(dir, 'p.wasm'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/roam cc: clang failed: .*pthread\.h.*not found/);
  });
});
