import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch, type FSWatcher } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RoamError } from '../errors.ts';
import { timeoutMessage } from './embedded.ts';
import { INIT_DIR_ENV } from './init-signal.ts';
import type { MpirunArgs } from './options.ts';

const ROAM_BIN = fileURLToPath(new URL('../../bin/roam.js', import.meta.url));

/** Env var naming the file where `roam rank` records a rank's failure for `roam mpirun` to print. */
export const REPORT_ENV = 'ROAM_MPI_REPORT';

/** MPICH's hydra has no --oversubscribe (it always allows it) and refuses the word; Open MPI needs it. */
function isHydra(launcher: string): boolean {
  const r = spawnSync(launcher, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return /HYDRA/.test(`${r.stdout}${r.stderr}`);
}

/** The system launcher's command line: its own options (hosts, passed-through ones), then `roam rank` per rank. */
export function launcherCommand(o: MpirunArgs, launcher: string, hydra: () => boolean): string[] {
  const rank = ['rank', ...(o.preopenCwd ? ['--dir'] : []), ...(o.tagOutput ? ['--tag-output'] : [])];
  for (const [k, v] of Object.entries(o.env)) rank.push('--env', `${k}=${v}`);
  return [
    '-n', String(o.np),
    ...(o.hosts.length ? ['--host', o.hosts.join(',')] : []),
    ...(o.oversubscribe && !hydra() ? ['--oversubscribe'] : []),
    ...o.launcherArgs,
    process.execPath, ROAM_BIN, ...rank, '--', o.program, ...o.args,
  ];
}

/**
 * `roam mpirun --mpi native`: the system mpiexec starts `roam rank PROGRAM` once per rank.
 * A failing rank appends its one-line error to a report file before MPI_Abort, and this launcher
 * prints the first one: hydra tears the job down on the abort and can drop a rank's last stderr
 * lines still in its forwarding pipe (seen under load: right exit code, empty stderr).
 * Each rank creates `init/RANK` when its guest enters MPI_Init; --timeout starts when all have.
 */
export async function runNative(o: MpirunArgs): Promise<number> {
  const launcher = process.env.ROAM_MPIEXEC ?? 'mpiexec';
  const args = launcherCommand(o, launcher, () => isHydra(launcher));
  const dir = mkdtempSync(join(os.tmpdir(), 'roam-mpirun-'));
  const report = join(dir, 'failures');
  const initDir = join(dir, 'init');
  mkdirSync(initDir);
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  let timedOut = false;
  const child = spawn(launcher, args, {
    stdio: 'inherit',
    env: { ...process.env, [REPORT_ENV]: report, [INIT_DIR_ENV]: initDir, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' },
  });
  const startClock = () => {
    if (timer || timedOut || readdirSync(initDir).length < o.np) return;
    watcher?.close();
    timer = setTimeout(() => {
      timedOut = true;
      process.stderr.write(`roam mpirun: ${timeoutMessage(o.timeoutMs)}\n`);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    }, o.timeoutMs);
  };
  if (o.timeoutMs) {
    watcher = watch(initDir, startClock);
    watcher.on('error', () => startClock());
    startClock();
  }
  return await new Promise<number>((resolve, reject) => {
    child.on('error', (e) => {
      watcher?.close();
      rmSync(dir, { recursive: true, force: true });
      reject(new RoamError('E_MPIEXEC', `cannot start ${launcher}: ${e.message}; install MPICH or Open MPI`));
    });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      watcher?.close();
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
