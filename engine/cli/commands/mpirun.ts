import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from '../command.ts';
import { RoamError } from '../../errors.ts';
import { parseMpirun } from '../../mpi/options.ts';
import { progress } from '../progress.ts';

const mpirun: Command = {
  name: 'mpirun',
  summary: 'run a Wasm MPI program on N ranks (embedded MPI, or the system MPI with --mpi native)',
  help: `Usage: roam mpirun [OPTIONS] PROGRAM.wasm [ARGS...]

  -n N, -np N, --np N    number of ranks (default 1)
  --mpi embedded         ranks are worker threads in this process over SharedArrayBuffer (default)
  --mpi native           ranks are Node processes started by the system mpiexec (MPICH/Open MPI),
                         each forwarding MPI calls through the native-host addon
  --timeout S            tear the job down S seconds after every rank has entered MPI_Init
                         (start-up is not counted), naming where each rank waits (embedded)
  --tag-output           prefix each line a rank writes with [RANK] (also -prepend-rank, -l)
  -q, --quiet            no start-up progress line (it shows on a terminal only: ranks launching, then
                         how many are in MPI_Init)
  -x NAME[=VALUE]        give the ranks NAME (its value here when none is given)
  -genv NAME VALUE       the same (also -env); -genvlist A,B passes several from here
  --host H[,H...]        hosts (also -host, -hosts, -H); embedded: this host only
  --oversubscribe        more ranks than cores (always allowed; passed on to Open MPI)
  --dir                  preopen the current directory for the guest (WASI)
  --                     end of options

Any other option goes to the system launcher with --mpi native (its value too, when the next
word is not the program: a .wasm file or a file starting with Wasm's magic bytes), and is
refused, named, by the embedded MPI.

Ranks write straight to this process's stdout/stderr (pass-through, like mpirun).
The job's exit code is the first failing rank's (1 for a trap or an MPI error, 124 on timeout).

Examples:
  roam cc functions/mpi/ring.c -o ring.wasm && roam mpirun -np 4 ring.wasm
  roam mpirun --mpi native -np 2 --timeout 60 ring.wasm 10`,
  async run(argv) {
    const o = parseMpirun(argv);
    let bytes: Buffer;
    try {
      bytes = readFileSync(o.program);
    } catch {
      throw new RoamError('E_NOENT', `cannot read ${o.program}`);
    }
    let module: WebAssembly.Module;
    try {
      module = await WebAssembly.compile(new Uint8Array(bytes));
    } catch (e) {
      throw new RoamError('E_BUNDLE', `${o.program} is not a valid Wasm module: ${(e as Error).message}`);
    }
    const { checkImportsStatic } = await import('../../mpi/check.ts');
    checkImportsStatic(module);
    // Start-up on a terminal: ranks launching → all in MPI_Init, then the line ends (the job's own output follows).
    const p = progress({ quiet: o.quiet });
    const onStartup = (ready: number, np: number) => {
      if (ready < np) p.update(`starting ${np} rank${np === 1 ? '' : 's'}: ${ready}/${np} in MPI_Init`);
      else p.done(`${np} rank${np === 1 ? '' : 's'} in MPI_Init`);
    };
    try {
      if (o.mpi === 'native') {
        const { runNative } = await import('../../mpi/native-launch.ts');
        return await runNative(o, { print: (t) => p.print(t), onStartup });
      }
      const { runEmbedded } = await import('../../mpi/embedded.ts');
      const r = await runEmbedded(module, { np: o.np, args: o.args, argv0: basename(o.program), env: o.env, preopenCwd: o.preopenCwd, timeoutMs: o.timeoutMs, tagOutput: o.tagOutput, wasm: bytes, onStartup });
      p.fail(); // ends a start-up line the job never finished (no-op once all ranks were in MPI_Init)
      if (r.error) p.print(`roam mpirun: ${r.error}\n`);
      return r.code;
    } finally {
      p.fail();
    }
  },
};
export default mpirun;
