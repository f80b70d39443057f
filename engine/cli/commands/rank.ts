import { appendFileSync, readFileSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from '../command.ts';
import { RoamError } from '../../errors.ts';
import { initMarker } from '../../mpi/init-signal.ts';
import { CALL_SLOT_INTS } from '../../mpi/call-state.ts';

interface RankArgs {
  program: string;
  args: string[];
  preopenCwd: boolean;
  tagOutput: boolean;
  signalInit: boolean;
  env: Record<string, string>;
}

/** `[--dir] [--tag-output] [--env NAME=VALUE]... [--] PROGRAM [ARGS...]`; --env also sets this process's variable (libmpi reads it). */
function parseRank(argv: string[]): RankArgs {
  const o: RankArgs = { program: '', args: [], preopenCwd: false, tagOutput: false, signalInit: false, env: {} };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--dir') o.preopenCwd = true;
    else if (a === '--tag-output') o.tagOutput = true;
    else if (a === '--signal-init') o.signalInit = true;
    else if (a === '--env') {
      const spec = argv[++i] ?? '';
      const eq = spec.indexOf('=');
      if (eq < 1) throw new RoamError('E_USAGE', `--env needs NAME=VALUE, not '${spec}'`);
      o.env[spec.slice(0, eq)] = process.env[spec.slice(0, eq)] = spec.slice(eq + 1);
    } else if (a === '--') {
      i++;
      break;
    } else break;
  }
  o.program = argv[i] ?? '';
  if (!o.program) throw new RoamError('E_USAGE', 'usage: roam rank [--dir] [--tag-output] [--env NAME=VALUE]... [--signal-init] PROGRAM.wasm [ARGS...]');
  o.args = argv.slice(i + 1);
  return o;
}

/** One write of the MPI_Init marker; a stderr that is gone or full only costs the launcher its clock. */
function writeMarker(m: string): void {
  try {
    writeSync(2, m);
  } catch {
    // --timeout then does not start; the job itself is unaffected
  }
}

const rank: Command = {
  name: 'rank',
  summary: 'run one rank of a Wasm MPI program under the system mpiexec',
  help: `Usage: mpiexec -n N npx roam rank [--dir] [--tag-output] [--env NAME=VALUE]... PROGRAM.wasm [ARGS...]

Runs this process as one MPI rank: the guest's MPI calls go to the system libmpi (MPICH or
Open MPI) through the native-host addon, so multi-node jobs use the real MPI and its network.

  --dir              preopen the current directory for the guest (WASI)
  --tag-output       prefix each line the guest writes with [RANK]
  --env NAME=VALUE   set NAME for this process (before libmpi loads) and for the guest
  --signal-init      (roam mpirun's) write a marker to stderr when the guest enters MPI_Init

Examples:
  mpiexec -n 4 npx roam rank ring.wasm
  mpiexec -n 2 -hosts a,b npx roam rank --tag-output stencil.wasm 100`,
  async run(argv) {
    const o = parseRank(argv);
    const { program, preopenCwd } = o;
    const module = await WebAssembly.compile(new Uint8Array(readFileSync(program)));
    const { loadNativeHost } = await import('../../../native-host/index.ts');
    const { NativeTransport } = await import('../../mpi/native-transport.ts');
    const { runRank } = await import('../../mpi/rank.ts');
    let host: Awaited<ReturnType<typeof loadNativeHost>>;
    try {
      host = loadNativeHost();
    } catch (e) {
      throw new RoamError('E_NATIVE', (e as Error).message);
    }
    // Under `roam mpirun` a failure goes to its report file (synchronously, before MPI_Abort), else to stderr.
    const reportFile = process.env.ROAM_MPI_REPORT;
    const report = (line: string) => (reportFile ? appendFileSync(reportFile, `${line}\n`) : process.stderr.write(`roam rank: ${line}\n`));
    const t = new NativeTransport(host.mpi, (code) => report(`rank ${t.rank}: MPI_Abort called with error code ${code}`));
    try {
      const trace = process.env.ROAM_MPI_TRACE ? { enter: (n: string) => process.stderr.write(`[rank ${t.rank}] ${n}\n`) } : undefined;
      // Under `roam mpirun`: tell it (through the launcher's stderr forwarding) that --timeout may start,
      // and answer its SIGUSR1 at a timeout with the call this rank is in (native-host writes the slot).
      const onInit = o.signalInit ? () => void writeMarker(initMarker(t.rank)) : undefined;
      const slot = o.signalInit ? new Int32Array(new ArrayBuffer(4 * CALL_SLOT_INTS)) : undefined; // its own buffer: the addon keeps a pointer
      if (slot) host.mpi.reportCallOnSignal(slot);
      const hooks = { ...trace, slot };
      const code = runRank(module, t, { args: [basename(program), ...o.args], env: o.env, preopenCwd, hooks, onInit, tagOutput: o.tagOutput ? `[${t.rank}] ` : undefined });
      if (code !== 0) {
        report(`rank ${t.rank}: exited with code ${code}`);
        host.mpi.abort(code);
      }
      return code;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      report(msg.startsWith('rank ') ? msg : `rank ${t.rank}: ${e instanceof WebAssembly.RuntimeError ? 'trap: ' : ''}${msg}`);
      host.mpi.abort(1);
      return 1;
    }
  },
};
export default rank;
