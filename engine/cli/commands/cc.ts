import type { Command } from '../command.ts';
import { runCc } from '../../mpi/cc.ts';
import { progress } from '../progress.ts';

/** `roam cc` and `roam mpicc`: one compiler driver under two names (`MPICC = roam mpicc` in a Makefile). */
export function ccCommand(name: 'cc' | 'mpicc'): Command {
  return {
    name,
    summary: name === 'cc' ? 'compile C (MPI) sources to wasm32-wasi with clang (an mpicc)' : 'the same as roam cc, under the name build scripts use',
    help: `Usage: roam ${name} [options] FILE.c|FILE.o|LIB.a... [-o OUT]

An mpicc for wasm32-wasi: runs Debian's clang with roam's guest-sdk/include/mpi.h (MPI-5 standard
ABI) and wasi-libc; MPI calls become imports from roam:mpi. Every clang option passes through,
as mpicc's do: -c (wasm32 object files), -o, -I/-D/-U/-L/-l (joined or as two words), -O*, -g,
-W*, -std=, linking .o files and static archives (.a from llvm-ar, or from GNU ar: roam indexes a
copy for wasm-ld). Default output as with mpicc: a.out when linking, FILE.o with -c.
Defaults: -O2 (a later -O wins); an implicit declaration of a function is an error (as in modern
compilers), so an MPI function roam lacks fails at compile time, named; clang's warnings are shown.

  -show, --showme        print the clang command instead of running it
  -compile-info, -link-info, --showme:compile, --showme:link   its compile or link part only
  --version              roam's and clang's versions
  --quiet                no progress line (on a terminal, one shows while clang runs; never in a pipe)

Examples:
  roam ${name} functions/mpi/ring.c -o ring.wasm && roam mpirun -np 4 ring.wasm
  roam ${name} -O3 -I common -D CLASS='"S"' -c ep.c && roam ${name} ep.o -o ep.wasm -lm
  MPICC = roam mpicc          (a Makefile line)`,
    run(argv) {
      // --quiet is roam's (clang has no such option): no progress line. It shows on a terminal only.
      const quiet = argv.includes('--quiet');
      const p = progress({ quiet });
      return runCc(quiet ? argv.filter((a) => a !== '--quiet') : argv, name, undefined, p);
    },
  };
}

export default ccCommand('cc');
