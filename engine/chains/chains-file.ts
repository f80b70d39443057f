/** `roam.chains.json`: { "chains": { "<route>": { "steps": ["fnA", "fnB"], "also": ["fnC"] } } } */
import { readFileSync } from 'node:fs';
import { RoamError } from '../errors.ts';
import type { ChainSpec } from '../state/store.ts';

export function readChainsFile(file: string): Record<string, ChainSpec> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new RoamError('E_CHAIN', `cannot read chains file ${file}: ${(e as Error).message}`);
  }
  const chains = (raw as { chains?: unknown }).chains;
  if (typeof chains !== 'object' || chains === null || Array.isArray(chains)) throw new RoamError('E_CHAIN', `${file}: expected { "chains": { route: { "steps": [...] } } }`);
  return chains as Record<string, ChainSpec>;
}
