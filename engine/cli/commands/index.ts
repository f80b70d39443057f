import type { Command } from '../command.ts';

/** Every sub-command, in the order `roam --help` lists them. Lazy so a command's deps load only when used. */
export const commands: Array<{ name: string; summary: string; load: () => Promise<Command> }> = [
  { name: 'serve', summary: 'serve functions and chains over HTTP (control API, /fn, /chain, /metrics)', load: async () => (await import('./serve.ts')).command },
  { name: 'deploy', summary: 'upload a bundle (and chain routes) to a running server', load: async () => (await import('./deploy.ts')).command },
  { name: 'invoke', summary: 'call a function or chain on a running server', load: async () => (await import('./invoke.ts')).command },
  { name: 'ls', summary: 'list bundles and chains on a running server', load: async () => (await import('./ls.ts')).command },
  { name: 'rm', summary: 'remove a bundle or chain from a running server', load: async () => (await import('./rm.ts')).command },
];
