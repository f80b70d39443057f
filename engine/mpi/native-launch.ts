import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RoamError } from '../errors.ts';
import type { MpirunArgs } from './options.ts';

const ROAM_BIN = fileURLToPath(new URL('../../bin/roam.js', import.meta.url));

/** Env var naming the file where `roam rank` records a rank's failure for `roam mpirun` to print. */
export const REPORT_ENV = 'ROAM_MPI_REPORT';

/**
 * `roam mpirun --mpi native`: the system mpiexec starts `roam rank PROGRAM` once per rank.
 * A failing rank appends its one-line error to a report file before MPI_Abort, and this launcher
 * prints the first one: hydra tears the job down on the abort and can drop a rank's last stderr
 * lines still in its forwarding pipe (seen under load: right exit code, empty stderr).
 */
export async function runNative(o: MpirunArgs): Promise<number> {
  const launcher = process.env.ROAM_MPIEXEC ?? 'mpiexec';
  const args = ['-n', String(o.np), process.execPath, ROAM_BIN, 'rank', ...(o.preopenCwd ? ['--dir'] : []), o.program, ...o.args];
  const dir = mkdtempSync(join(os.tmpdir(), 'roam-mpirun-'));
  const report = join(dir, 'failures');
  const child = spawn(launcher, args, { stdio: 'inherit', env: { ...process.env, [REPORT_ENV]: report, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' } });
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  return await new Promise<number>((resolve, reject) => {
    child.on('error', (e) => reject(new RoamError('E_MPIEXEC', `cannot start ${launcher}: ${e.message}; install MPICH or Open MPI`)));
    if (o.timeoutMs)
      timer = setTimeout(() => {
        timedOut = true;
        process.stderr.write(`roam mpirun: job timed out after ${o.timeoutMs} ms (deadlock?)\n`);
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 2000).unref();
      }, o.timeoutMs);
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      let first = '';
      try {
        first = readFileSync(report, 'utf8').split('\n')[0];
      } catch {
        // no rank failed
      }
      rmSync(dir, { recursive: true, force: true });
      if (first) process.stderr.write(`roam mpirun: ${first}\n`);
      resolve(timedOut ? 124 : sig ? 128 + (os.constants.signals[sig] ?? 0) : (code ?? 1));
    });
  });
}
