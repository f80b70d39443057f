import type { Command } from '../command.ts';
import { COMMANDS } from '../front.mjs';

type Entry = { name: string; summary: string; load: () => Promise<Command> };

/** Every sub-command (the table is front.mjs's). Lazy so a command's deps load only when used. */
export const commands: Entry[] = COMMANDS.map((c) => ({
  name: c.name,
  summary: c.summary,
  load: async () => ((await import(`./${c.file}`)) as { default: Command }).default,
}));
