import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RoamError } from '../errors.ts';
import { InitMarkers, timeoutMessage } from './init-signal.ts';
import { describeCall } from './call-state.ts';
import type { MpirunArgs } from './options.ts';

const ROAM_BIN = fileURLToPath(new URL('../../bin/roam.js', import.meta.url));

/** How the launcher reports: the job's stderr through `print` (a progress line may share the stream), start-up counts to `onStartup`. */
export interface LaunchUi {
  print(text: string | Buffer): void;
  onStartup?: (ready: number, np: number) => void;
}
const PLAIN: LaunchUi = { print: (t) => void process.stderr.write(t) };

/** Env var naming the file where `roam rank` records a rank's failure for `roam mpirun` to print. */
export const REPORT_ENV = 'ROAM_MPI_REPORT';

/** How long a timed-out job's ranks get to say which call they are in (they answer in microseconds; other hosts take a network trip). */
const CALL_REPORT_MS = 2000;

/** MPICH's hydra has no --oversubscribe (it always allows it) and refuses the word; Open MPI needs it. */
function isHydra(launcher: string): boolean {
  const r = spawnSync(launcher, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return /HYDRA/.test(`${r.stdout}${r.stderr}`);
}

/** The system launcher's command line: its own options (hosts, passed-through ones), then `roam rank` per rank. */
export function launcherCommand(o: MpirunArgs, hydra: () => boolean): string[] {
  const rank = ['rank', '--signal-init', ...(o.preopenCwd ? ['--dir'] : []), ...(o.tagOutput ? ['--tag-output'] : [])];
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
 * Each rank writes a marker to its stderr when its guest enters MPI_Init; this launcher reads the
 * job's stderr, removes the markers, and starts --timeout when all ranks have sent theirs.
 */
export async function runNative(o: MpirunArgs, ui: LaunchUi = PLAIN): Promise<number> {
  const launcher = process.env.ROAM_MPIEXEC ?? 'mpiexec';
  const args = launcherCommand(o, () => isHydra(launcher));
  const dir = mkdtempSync(join(os.tmpdir(), 'roam-mpirun-'));
  const report = join(dir, 'failures');
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const child = spawn(launcher, args, {
    stdio: ['inherit', 'inherit', 'pipe'],
    env: { ...process.env, [REPORT_ENV]: report, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' },
  });
  // At the timeout, ask every rank which call it is in (SIGUSR1, forwarded by mpiexec to every rank
  // on every host; native-host answers on the rank's stderr even while libmpi blocks its JS thread),
  // wait for all answers or CALL_REPORT_MS, then print them as the embedded launcher does and tear down.
  const calls = new Map<number, string>();
  let reported: (() => void) | null = null;
  const teardown = () => {
    if (!reported) return;
    reported = null;
    const where = Array.from({ length: o.np }, (_, r) => `rank ${r} ${calls.has(r) ? `in ${calls.get(r)}` : 'did not answer'}`);
    ui.print(`roam mpirun: ${timeoutMessage(o.timeoutMs)}: ${where.join(', ')}\n`);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 2000).unref();
  };
  ui.onStartup?.(0, o.np);
  const markers = new InitMarkers(
    (_rank, count) => {
      ui.onStartup?.(count, o.np);
      if (count < o.np || !o.timeoutMs || timer) return;
      timer = setTimeout(() => {
        timedOut = true;
        reported = teardown;
        child.kill('SIGUSR1');
        setTimeout(teardown, CALL_REPORT_MS).unref();
      }, o.timeoutMs);
    },
    (rank, slot) => {
      if (!reported || rank < 0 || rank >= o.np) return;
      calls.set(rank, describeCall(slot));
      if (calls.size === o.np) teardown();
    },
  );
  child.stderr.on('data', (d: Buffer) => ui.print(markers.push(d)));
  child.stderr.on('error', () => {}); // the launcher's exit is what counts; 'close' still comes
  return await new Promise<number>((resolve, reject) => {
    child.on('error', (e) => {
      rmSync(dir, { recursive: true, force: true });
      reject(new RoamError('E_MPIEXEC', `cannot start ${launcher}: ${e.message}; install MPICH or Open MPI`));
    });
    let code: number | null = null, sig: NodeJS.Signals | null = null;
    const finish = () => {
      clearTimeout(timer);
      ui.print(markers.end());
      let first = '';
      try {
        first = readFileSync(report, 'utf8').split('\n')[0];
      } catch {
        // no rank failed
      }
      rmSync(dir, { recursive: true, force: true });
      if (first) ui.print(`roam mpirun: ${first}\n`);
      resolve(timedOut ? 124 : sig ? 128 + (os.constants.signals[sig] ?? 0) : (code ?? 1));
    };
    // 'close' comes once the job's stderr is drained; a rank process that outlives the launcher
    // holding the pipe must not hold the job open, so 'exit' bounds the wait.
    child.on('exit', (c, s) => {
      code = c;
      sig = s;
      setTimeout(() => child.stderr.destroy(), 2000).unref();
    });
    child.on('close', (c, s) => {
      code ??= c;
      sig ??= s;
      finish();
    });
  });
}
