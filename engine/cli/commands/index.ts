import type { Command } from '../command.ts';

type Entry = { name: string; summary: string; load: () => Promise<Command> };
const lazy = (name: string, summary: string, load: () => Promise<{ default: Command }>): Entry => ({ name, summary, load: async () => (await load()).default });

/** Every sub-command, in the order `roam --help` lists them. Lazy so a command's deps load only when used. */
export const commands: Entry[] = [
  lazy('init', 'scaffold an AssemblyScript guest project', () => import('./init.ts')),
  lazy('build', 'compile a guest project into one .wasm bundle', () => import('./build.ts')),
  lazy('inspect', 'print a bundle\'s manifest, imports, exports, size and hash', () => import('./inspect.ts')),
  lazy('run', 'verify, meter and invoke a handler or function in-process', () => import('./run.ts')),
  lazy('serve', 'serve functions and chains over HTTP (control API, /fn, /chain, /metrics)', () => import('./serve.ts')),
  lazy('deploy', 'upload a bundle (and chain routes) to a running server', () => import('./deploy.ts')),
  lazy('invoke', 'call a function or chain on a running server', () => import('./invoke.ts')),
  lazy('ls', 'list bundles and chains on a running server', () => import('./ls.ts')),
  lazy('rm', 'remove a bundle or chain from a running server', () => import('./rm.ts')),
  lazy('cc', 'compile C (MPI) sources to wasm32-wasi with clang', () => import('./cc.ts')),
  lazy('mpicc', 'the same as roam cc, under the name build scripts use', () => import('./mpicc.ts')),
  lazy('mpirun', 'run a Wasm MPI program on N ranks (embedded or system MPI)', () => import('./mpirun.ts')),
  lazy('rank', 'run one rank of a Wasm MPI program under the system mpiexec', () => import('./rank.ts')),
  lazy('gpu', 'show the gpu devices roam:gpu can use, and why one is missing', () => import('./gpu.ts')),
  lazy('dpu-agent', 'run a DPU agent (handlers over POSIX shm) for a roam server', () => import('./dpu-agent.ts')),
  lazy('demo', 'kv under YCSB-B; host made busy halfway; steering shifts load to the DPU agent', () => import('./demo.ts')),
];
