import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { RoamError } from '../errors.ts';
import type { MpirunArgs } from './options.ts';

const ROAM_BIN = fileURLToPath(new URL('../../bin/roam.js', import.meta.url));

/** `roam mpirun --mpi native`: the system mpiexec starts `roam rank PROGRAM` once per rank. */
export async function runNative(o: MpirunArgs): Promise<number> {
  const launcher = process.env.ROAM_MPIEXEC ?? 'mpiexec';
  const args = ['-n', String(o.np), process.execPath, ROAM_BIN, 'rank', ...(o.preopenCwd ? ['--dir'] : []), o.program, ...o.args];
  const child = spawn(launcher, args, { stdio: 'inherit', env: { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' } });
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
      resolve(timedOut ? 124 : sig ? 128 + (os.constants.signals[sig] ?? 0) : (code ?? 1));
    });
  });
}
