import type { Command } from '../command.ts';

/** Every sub-command, in the order `roam --help` lists them. Lazy so a command's deps load only when used. */
export const commands: Array<{ name: string; summary: string; load: () => Promise<Command> }> = [
];
