import { u32leb } from '../../engine/bundle/leb.ts';

/** `bytes` (a core module or a component) with one more custom section, `roam-round`, holding `n`: a
 *  version with new code (a new code key and content hash) and the same behaviour. */
export function withRound(bytes: Uint8Array, n: number): Uint8Array {
  const name = new TextEncoder().encode('roam-round');
  const body = [...u32leb(name.length), ...name, ...u32leb(n)];
  return Buffer.concat([bytes, Buffer.from([0, ...u32leb(body.length), ...body])]);
}
