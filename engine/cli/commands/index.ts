import type { Command } from '../command.ts';

type Entry = { name: string; summary: string; load: () => Promise<Command> };
const lazy = (name: string, summary: string, load: () => Promise<{ default: Command }>): Entry => ({ name, summary, load: async () => (await load()).default });

/** Every sub-command, in the order `roam --help` lists them. Lazy so a command's deps load only when used. */
export const commands: Entry[] = [
  lazy('init', 'scaffold an AssemblyScript guest project', () => import('./init.ts')),
  lazy('build', 'compile a guest project into one .wasm bundle', () => import('./build.ts')),
  lazy('inspect', 'print a bundle\'s manifest, imports, exports, size and hash', () => import('./inspect.ts')),
  lazy('run', 'verify, meter and invoke a handler or function in-process', () => import('./run.ts')),
  lazy('gpu', 'show the gpu devices roam:gpu can use, and why one is missing', () => import('./gpu.ts')),
];
