import { appendFileSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from '../command.ts';
import { RoamError } from '../../errors.ts';

const rank: Command = {
  name: 'rank',
  summary: 'run one rank of a Wasm MPI program under the system mpiexec',
  help: `Usage: mpiexec -n N npx roam rank [--dir] PROGRAM.wasm [ARGS...]

Runs this process as one MPI rank: the guest's MPI calls go to the system libmpi (MPICH or
Open MPI) through the native-host addon, so multi-node jobs use the real MPI and its network.

Examples:
  mpiexec -n 4 npx roam rank ring.wasm
  mpiexec -n 2 -hosts a,b npx roam rank --dir stencil.wasm 100`,
  async run(argv) {
    let i = 0;
    const preopenCwd = argv[0] === '--dir';
    if (preopenCwd) i++;
    const program = argv[i];
    if (!program) throw new RoamError('E_USAGE', 'usage: roam rank PROGRAM.wasm [ARGS...]');
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
      const code = runRank(module, t, { args: [basename(program), ...argv.slice(i + 1)], env: {}, preopenCwd, hooks: trace });
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
