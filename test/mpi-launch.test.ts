import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileC } from '../engine/mpi/cc.ts';
import { InitMarkers, callMarker, initMarker } from '../engine/mpi/init-signal.ts';
import { callIndex, describeCall } from '../engine/mpi/call-state.ts';
import { roam } from './mpi-helpers.ts';
import { missing } from './helpers/system.ts';

// `roam mpirun`'s launcher options, on the embedded MPI (for real) and on the system MPICH
// (`--mpi native`: mpiexec starts `roam rank` per rank). CI installs MPICH: nothing is skipped.
const SRC = fileURLToPath(new URL('./fixtures/mpi-launch/launch.c', import.meta.url));
let prog = '';
// Needs clang for wasm32-wasi, and a system MPI for --mpi native: skipped with one line without them (not in CI).
const skip = { embedded: missing('mpirun options (embedded)', 'wasm-clang'), native: missing('mpirun options (native)', 'wasm-clang', 'mpich') };
beforeAll(() => {
  prog = join(mkdtempSync(join(tmpdir(), 'roam-launch-')), 'launch.wasm');
  if (!skip.embedded) compileC([SRC], prog);
}, 60_000);

const lines = (out: string) => out.split('\n').filter(Boolean);

for (const mpi of ['embedded', 'native'] as const) {
  describe.skipIf(skip[mpi])(`roam mpirun options on the ${mpi} MPI`, () => {
    const mpirun = (...args: string[]) => roam('mpirun', '--mpi', mpi, ...args);

    it('takes the rank count as -n, --np and --np=N (and -np, which the other tests use)', async () => {
      for (const [flag, n] of [[['-n', '3'], 3], [['--np', '2'], 2], [['--np=3'], 3]] as const) {
        const r = await mpirun(...flag, prog);
        expect(r.code, r.stderr).toBe(0);
        const sum = (n * (n - 1)) / 2;
        for (let k = 0; k < n; k++) expect(r.stdout).toContain(`rank ${k} of ${n}: sum ${sum}`);
      }
    });

    it('prefixes every output line with [RANK] under --tag-output, the unterminated last one included', async () => {
      const r = await mpirun('-np', '2', '--tag-output', prog);
      expect(r.code, r.stderr).toBe(0);
      const out = lines(r.stdout);
      expect(out.sort()).toEqual(['[0] rank 0 of 2: sum 1 GREETING=(unset)', '[0] tail 0', '[1] rank 1 of 2: sum 1 GREETING=(unset)', '[1] tail 1']);
    });

    it('passes output through unprefixed without --tag-output', async () => {
      const r = await mpirun('-np', '2', prog);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toMatch(/^\[\d\]/m);
      expect(r.stdout).toContain('rank 1 of 2: sum 1 GREETING=(unset)');
    });

    it('gives the ranks variables set with -x NAME=VALUE, -x NAME (from here) and -genv NAME VALUE', async () => {
      const x = await mpirun('-np', '2', '-x', 'GREETING=hi there', prog);
      expect(x.code, x.stderr).toBe(0);
      expect(x.stdout).toContain('rank 1 of 2: sum 1 GREETING=hi there');
      process.env.GREETING = 'from-env';
      const inherited = await mpirun('-np', '2', '-x', 'GREETING', prog).finally(() => delete process.env.GREETING);
      expect(inherited.stdout).toContain('rank 0 of 2: sum 1 GREETING=from-env');
      const genv = await mpirun('-np', '2', '-genv', 'GREETING', 'hello', prog);
      expect(genv.stdout).toContain('rank 1 of 2: sum 1 GREETING=hello');
    });

    it('refuses -x NAME when NAME is not set here', async () => {
      const r = await mpirun('-np', '2', '-x', 'ROAM_SURELY_UNSET_VAR', prog);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('roam mpirun: -x ROAM_SURELY_UNSET_VAR: ROAM_SURELY_UNSET_VAR is not set in this environment');
    });

    it('runs on --host localhost and -hosts localhost with --oversubscribe', async () => {
      const r = await mpirun('--host', 'localhost', '--oversubscribe', '-np', '3', prog);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('rank 2 of 3: sum 3');
      const h = await mpirun('-hosts', 'localhost', '-np', '2', prog);
      expect(h.code, h.stderr).toBe(0);
      expect(h.stdout).toContain('rank 1 of 2: sum 1');
    });

    it('does not count slow start-up against --timeout: work before MPI_Init outlasts the timeout and the job completes', async () => {
      const r = await mpirun('-np', '2', '--timeout', '2', prog, 'busy', '4');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('rank 1 of 2: sum 1');
      expect(r.stderr).not.toContain('timed out');
    });

    it('still ends a deadlock at --timeout with 124, saying the clock started at MPI_Init', async () => {
      const r = await mpirun('-np', '2', '--timeout', '1', prog, 'deadlock');
      expect(r.code).toBe(124);
      expect(r.stderr).toContain('roam mpirun: job timed out after 1000 ms, counted from when every rank had entered MPI_Init');
      expect(r.stderr).toContain('rank 0 in MPI_Recv(source MPI_ANY_SOURCE, tag 0, MPI_COMM_WORLD), rank 1 in MPI_Recv(source MPI_ANY_SOURCE, tag 0, MPI_COMM_WORLD)');
    });
  });
}

describe.skipIf(skip.embedded)('options roam does not know', () => {
  it('are refused, named, by the embedded MPI', async () => {
    const r = await roam('mpirun', '-np', '2', '-bind-to', 'core', prog);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('roam mpirun: -bind-to is not an option of the embedded MPI; with --mpi native it is passed to the system launcher');
  });

  it.skipIf(skip.native)('go to the system launcher with --mpi native, with their values', async () => {
    const ok = await roam('mpirun', '--mpi', 'native', '-np', '2', '-bind-to', 'core', prog);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('rank 1 of 2: sum 1');
    // MPICH's hydra names an option it does not know: proof the word reached it.
    const bad = await roam('mpirun', '--mpi', 'native', '-np', '2', '--no-such-hydra-option', prog);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('unrecognized argument no-such-hydra-option');
  });

  it('refuses another host on the embedded MPI, pointing to --mpi native', async () => {
    const r = await roam('mpirun', '--host', 'node7:2', '-np', '2', prog);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--host node7: the embedded MPI runs every rank in this process on this host; use --mpi native');
  });
});

describe('the MPI_Init markers native ranks write to stderr', () => {
  it('are removed from the job\'s stderr and counted once per rank, even when a chunk ends inside one', () => {
    const seen: number[] = [];
    const m = new InitMarkers((rank, count) => seen.push(rank * 10 + count));
    const text = `warn: a${initMarker(1)}bc\n${initMarker(0)}${initMarker(1)}x\0y\n${initMarker(12)}`;
    const bytes = Buffer.from(text, 'latin1');
    const out: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 7) out.push(m.push(bytes.subarray(i, i + 7)));
    out.push(m.end());
    expect(Buffer.concat(out).toString('latin1')).toBe('warn: abc\nx\0y\n');
    expect(seen).toEqual([11, 2, 123]);
  });

  it('also carry call reports, removed and parsed even when cut across chunks', () => {
    const calls: string[] = [];
    const m = new InitMarkers(() => {}, (rank, slot) => calls.push(`${rank}: ${describeCall(slot)}`));
    const recv = [callIndex('MPI_Recv'), 0, 1, 0x209, -1, -2, 0x101, 0, 0, 0, 0, 0, 0];
    const bytes = Buffer.from(`a${callMarker(1, recv)}b${callMarker(0, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])}\n`, 'latin1');
    const out: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 5) out.push(m.push(bytes.subarray(i, i + 5)));
    out.push(m.end());
    expect(Buffer.concat(out).toString('latin1')).toBe('ab\n');
    expect(calls).toEqual(['1: MPI_Recv(source MPI_ANY_SOURCE, tag MPI_ANY_TAG, MPI_COMM_WORLD)', '0: guest code']);
  });

  it('let bytes that only look like a marker\'s start through at the end', () => {
    const m = new InitMarkers(() => {});
    const a = m.push(Buffer.from('tail\0roam-mpi', 'latin1'));
    expect(Buffer.concat([a, m.end()]).toString('latin1')).toBe('tail\0roam-mpi');
  });
});
