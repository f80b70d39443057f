import { parseArgs, type ParseArgsConfig } from 'node:util';
import { RoamError } from '../errors.ts';
import { suggestion } from './did-you-mean.mjs';

/** node:util parseArgs with usage errors as RoamError('E_USAGE') (one line, with "did you mean" for a mistyped flag). */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    const line = (e as Error).message.split('\n')[0]!;
    const unknown = /^Unknown option '(--?[^']+)'/.exec(line);
    const flags = Object.entries(options).flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])]);
    const hint = unknown ? suggestion(unknown[1]!, [...flags, '--help']) : '';
    throw new RoamError('E_USAGE', `${unknown ? `unknown option '${unknown[1]}'` : line.replace(/\. To specify a positional argument.*$/, '')}${hint}`);
  }
}

export const usage = (msg: string): never => {
  throw new RoamError('E_USAGE', msg);
};
