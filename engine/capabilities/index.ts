import type { Capability } from './capability.ts';
import { core } from './core.ts';
import { log } from './log.ts';
import { clock } from './clock.ts';
import { regions } from './regions.ts';
import { gpu } from './gpu.ts';
import { body } from './body.ts';

export type { Capability, GuestContext } from './capability.ts';

/** Every capability the engine knows, by manifest name. Adding one = one file + one line here. */
export const CAPABILITIES: ReadonlyMap<string, Capability> = new Map([core, log, clock, regions, gpu, body].map((c) => [c.name, c]));

/** Capabilities every bundle gets without declaring them. */
export const IMPLICIT = ['core'];
