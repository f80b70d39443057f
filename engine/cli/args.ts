import { parseArgs, type ParseArgsConfig } from 'node:util';
import { RoamError } from '../errors.ts';

/** node:util parseArgs with usage errors as RoamError('E_USAGE'), so the CLI prints one line. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw new RoamError('E_USAGE', (e as Error).message.split('\n')[0]!);
  }
}

export const usage = (msg: string): never => {
  throw new RoamError('E_USAGE', msg);
};
