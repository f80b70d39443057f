import { RoamError } from '../errors.ts';
import type { Capability, GuestContext } from './capability.ts';

/** Reads an AssemblyScript string (UTF-16, byte length stored just before the data). */
function asString(ctx: GuestContext, ptr: number): string {
  if (ptr === 0) return '';
  try {
    const len = new DataView(ctx.memory.buffer).getUint32(ptr - 4, true);
    return Buffer.from(ctx.bytes(ptr, Math.min(len, 4096))).toString('utf16le');
  } catch {
    return `<string at ${ptr}>`;
  }
}

/** roam:core — implicit for every bundle: the abort the AssemblyScript runtime calls. */
export const core: Capability = {
  name: 'core',
  module: 'roam:core',
  functions: { abort: '(i32,i32,i32,i32)->()' },
  imports: (ctx) => ({
    abort(msg: number, file: number, line: number, col: number): never {
      const where = file ? ` at ${asString(ctx, file)}:${line}:${col}` : '';
      throw new RoamError('E_GUEST_ABORT', `guest aborted: ${asString(ctx, msg) || 'abort'}${where}`);
    },
  }),
};
