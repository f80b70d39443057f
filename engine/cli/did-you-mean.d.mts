export function distance(a: string, b: string): number;
export function closest(word: string, candidates: readonly string[]): string | null;
export function suggestion(word: string, candidates: readonly string[]): string;
