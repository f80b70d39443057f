export interface CommandEntry { name: string; summary: string; file: string }
export const COMMANDS: readonly CommandEntry[];
export function usage(): string;
export function version(): string;
export function answer(argv: string[], out?: NodeJS.WritableStream, err?: NodeJS.WritableStream): number | null;
