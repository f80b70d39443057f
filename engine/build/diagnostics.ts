import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { RoamError } from '../errors.ts';
import type { Diagnostic } from './asc.ts';

/** Styles a span of text (the CLI passes colour when its stream is a terminal). */
export type Paint = (style: 'red' | 'yellow' | 'dim' | 'bold' | 'cyan', text: string) => string;
const plain: Paint = (_s, t) => t;

/** A compile that failed: the message names the first error as file:line:col; `diagnostics` has them all. */
export class BuildError extends RoamError {
  readonly diagnostics: Diagnostic[];
  constructor(message: string, diagnostics: Diagnostic[]) {
    super('E_BUILD', message);
    this.diagnostics = diagnostics;
  }
}

export const isBuildError = (e: unknown): e is BuildError => e instanceof BuildError;

/** `file:line:col` with the file relative to the current directory (what an editor or terminal can open). */
export function where(d: Diagnostic, cwd = process.cwd()): string {
  if (!d.file) return '';
  const file = d.file.startsWith('~lib/') ? d.file : relative(cwd, d.file) || d.file;
  return d.line ? `${file}:${d.line}:${d.column}` : file;
}

/** One line: `path:line:col: error TS2304: Cannot find name 'nope'.` */
export function headline(d: Diagnostic, paint: Paint = plain, cwd?: string): string {
  const at = where(d, cwd);
  const kind = d.category === 'error' ? paint('red', `error TS${d.code}`) : paint('yellow', `${d.category} TS${d.code}`);
  return `${at ? paint('bold', at) + ': ' : ''}${kind}: ${d.message}`;
}

/** The offending line with a caret under the range, numbered like an editor. */
export function codeFrame(d: Diagnostic, paint: Paint = plain): string {
  if (d.line === undefined || d.lineText === undefined) return '';
  const num = String(d.line);
  const gutter = ' '.repeat(num.length);
  const text = d.lineText.replace(/\t/g, ' ');
  const caret = ' '.repeat(Math.max(0, (d.column ?? 1) - 1)) + '^'.repeat(Math.max(1, Math.min(d.length ?? 1, 80)));
  return `  ${paint('dim', `${num} |`)} ${text}\n  ${paint('dim', `${gutter} |`)} ${paint('red', caret)}`;
}

/**
 * Every error (then warnings), each with its frame; at most `max`, then a count of the rest.
 * `afterHeadline`: the first error's headline is already printed (the CLI's one-line summary), start with its frame.
 */
export function formatDiagnostics(list: Diagnostic[], paint: Paint = plain, opts: { max?: number; cwd?: string; afterHeadline?: boolean } = {}): string {
  const sorted = [...list.filter((d) => d.category === 'error'), ...list.filter((d) => d.category === 'warning')];
  const shown = sorted.slice(0, opts.max ?? 10).map((d, i) => [i === 0 && opts.afterHeadline ? '' : headline(d, paint, opts.cwd), codeFrame(d, paint)].filter(Boolean).join('\n'));
  const rest = sorted.length - shown.length;
  return shown.filter(Boolean).join('\n') + (rest > 0 ? `\n… and ${rest} more` : '');
}

/**
 * Reads a JSON file; a syntax error names `file:line:col` (V8 says only "position 265", or nothing).
 * `display` is how the file is named in the message.
 */
export function readJsonFile(path: string, display: string): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message.replace(/ in JSON at position \d+.*$/, '').replace(/, ".*" is not valid JSON$/s, '');
    const at = jsonErrorOffset(text, (e as Error).message);
    const { line, column } = lineCol(text, at);
    const hint = /property name/.test(msg) && /,\s*$/.test(text.slice(0, at)) ? ' (a trailing comma?)' : '';
    throw new RoamError('E_BUILD', `${display}:${line}:${column}: not valid JSON: ${msg}${hint}`);
  }
}

/** The offset V8 names, else the end of the longest prefix that still parses as the start of a document. */
function jsonErrorOffset(text: string, message: string): number {
  const m = / at position (\d+)/.exec(message);
  if (m) return Number(m[1]);
  let lo = 0;
  let hi = Math.min(text.length, 1 << 20);
  const prefixOk = (k: number) => {
    try {
      JSON.parse(text.slice(0, k));
      return true;
    } catch (e) {
      return /Unexpected end of JSON input/.test((e as Error).message);
    }
  };
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (prefixOk(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function lineCol(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) { line++; start = i + 1; }
  return { line, column: offset - start + 1 };
}
