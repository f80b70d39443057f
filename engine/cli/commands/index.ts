import type { Command } from '../command.ts';

/** Every sub-command, in the order `roam --help` lists them. Lazy so a command's deps load only when used. */
export const commands: Array<{ name: string; summary: string; load: () => Promise<Command> }> = [
  { name: 'cc', summary: 'compile C (MPI) sources to wasm32-wasi with clang', load: async () => (await import('./cc.ts')).default },
  { name: 'mpirun', summary: 'run a Wasm MPI program on N ranks (embedded or system MPI)', load: async () => (await import('./mpirun.ts')).default },
  { name: 'rank', summary: 'run one rank of a Wasm MPI program under the system mpiexec', load: async () => (await import('./rank.ts')).default },
];
