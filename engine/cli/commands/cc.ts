import type { Command } from '../command.ts';
import { RoamError } from '../../errors.ts';
import { compileC } from '../../mpi/cc.ts';

const cc: Command = {
  name: 'cc',
  summary: 'compile C (MPI) sources to a wasm32-wasi module with clang',
  help: `Usage: roam cc FILE.c... -o OUT.wasm [clang flags]

Compiles unmodified C MPI programs with Debian's clang for wasm32-wasi against roam's
guest-sdk/include/mpi.h (MPI-5 standard ABI). MPI calls become imports from roam:mpi.
Extra flags (-D, -I, -O3, -lm...) are passed to clang.

Examples:
  roam cc functions/mpi/ring.c -o ring.wasm && roam mpirun -np 4 ring.wasm
  roam cc stencil.c -O3 -lm -o stencil.wasm`,
  async run(argv) {
    const inputs: string[] = [];
    const extra: string[] = [];
    let out = '';
    for (let i = 0; i < argv.length; i++) {
      if (argv[i] === '-o') out = argv[++i] ?? '';
      else if (argv[i].startsWith('-')) extra.push(argv[i]);
      else inputs.push(argv[i]);
    }
    if (!inputs.length || !out) throw new RoamError('E_USAGE', 'usage: roam cc FILE.c... -o OUT.wasm');
    compileC(inputs, out, extra);
    return 0;
  },
};
export default cc;
