import { readFileSync } from 'node:fs';
import { RoamError } from '../../errors.ts';

export function readInputFile(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new RoamError('E_FILE', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * Decodes an --input value: `@file` (raw bytes), `hex:..` or `0x..` (hex), `u64:N[,text]`
 * (a little-endian u64 then optional UTF-8, handy for kv), JSON (`{`, `[`, `"` → its UTF-8 text),
 * anything else as UTF-8 text.
 */
export function decodeInput(value: string): Uint8Array {
  if (value.startsWith('@')) return readInputFile(value.slice(1));
  const hex = /^(?:hex:|0x)([0-9a-fA-F]*)$/.exec(value);
  if (hex) {
    if (hex[1]!.length % 2) throw new RoamError('E_USAGE', `hex input has an odd number of digits`);
    return new Uint8Array(Buffer.from(hex[1]!, 'hex'));
  }
  const u64 = /^u64:(\d+)(?:,(.*))?$/s.exec(value);
  if (u64) {
    const n = BigInt(u64[1]!);
    if (n >= 2n ** 64n) throw new RoamError('E_USAGE', `u64 input ${n} is out of range`);
    const text = Buffer.from(u64[2] ?? '');
    const b = Buffer.alloc(8 + text.length);
    b.writeBigUInt64LE(n);
    text.copy(b, 8);
    return new Uint8Array(b);
  }
  if (/^[[{"]/.test(value)) {
    try {
      JSON.parse(value);
    } catch (e) {
      throw new RoamError('E_USAGE', `input looks like JSON but does not parse: ${(e as Error).message}`);
    }
  }
  return new Uint8Array(Buffer.from(value, 'utf8'));
}

/** Prints a reply: UTF-8 text when it is printable, else hex. */
export function formatReply(reply: Uint8Array, as: 'auto' | 'hex' | 'text' = 'auto'): string {
  const b = Buffer.from(reply);
  const text = b.toString('utf8');
  const printable = !/[\x00-\x08\x0e-\x1f\uFFFD]/.test(text);
  if (as === 'text' || (as === 'auto' && printable)) return text;
  return b.toString('hex');
}
