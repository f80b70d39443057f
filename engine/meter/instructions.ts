import type { Reader } from '../bundle/leb.ts';

/**
 * Skips the immediates of one instruction whose opcode byte was just read.
 * Covers the MVP plus what Node 20 runs: sign-extension, saturating conversions, bulk memory,
 * reference types, SIMD, threads/atomics, tail calls and legacy exception handling.
 * Returns the sub-opcode for prefixed instructions (0xfc/0xfd/0xfe), else -1.
 */
export function skipImmediates(op: number, r: Reader): number {
  switch (op) {
    case 0x02: case 0x03: case 0x04: case 0x06: blockType(r); return -1;
    case 0x07: case 0x08: case 0x09: case 0x18: case 0x0c: case 0x0d: case 0x10: case 0x12: case 0xd2: r.u32(); return -1;
    case 0x0e: for (let n = r.u32(); n >= 0; n--) r.u32(); return -1; // n labels + default
    case 0x11: case 0x13: r.u32(); r.u32(); return -1;
    case 0x1c: for (let n = r.u32(); n > 0; n--) r.byte(); return -1;
    case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26: r.u32(); return -1;
    case 0x3f: case 0x40: r.u32(); return -1;
    case 0x41: case 0x42: r.skipLeb(); return -1;
    case 0x43: r.bytes(4); return -1;
    case 0x44: r.bytes(8); return -1;
    case 0xd0: r.byte(); return -1;
    case 0xfc: return prefixedFC(r);
    case 0xfd: return prefixedFD(r);
    case 0xfe: return prefixedFE(r);
  }
  if (op >= 0x28 && op <= 0x3e) { memarg(r); return -1; }
  if (op <= 0x01 || op === 0x05 || op === 0x0a || op === 0x0b || op === 0x0f || op === 0x19 || op === 0x1a || op === 0x1b || op === 0xd1) return -1;
  if (op >= 0x45 && op <= 0xc4) return -1;
  throw new RangeError(`unsupported opcode 0x${op.toString(16)}`);
}

function blockType(r: Reader): void {
  const b = r.buf[r.pos]!;
  if (b === 0x40 || (b >= 0x6f && b <= 0x7f)) r.pos++;
  else r.skipLeb(); // s33 type index
}

function memarg(r: Reader): void {
  const align = r.u32();
  if (align & 0x40) r.u32(); // memory index (multi-memory)
  r.u32();
}

function prefixedFC(r: Reader): number {
  const sub = r.u32();
  if (sub <= 7) return sub;
  switch (sub) {
    case 8: case 10: case 12: case 14: r.u32(); r.u32(); return sub;
    case 9: case 11: case 13: case 15: case 16: case 17: r.u32(); return sub;
  }
  throw new RangeError(`unsupported opcode 0xfc ${sub}`);
}

function prefixedFD(r: Reader): number {
  const sub = r.u32();
  if (sub <= 11 || sub === 92 || sub === 93) memarg(r);
  else if (sub === 12 || sub === 13) r.bytes(16);
  else if (sub >= 21 && sub <= 34) r.byte();
  else if (sub >= 84 && sub <= 91) { memarg(r); r.byte(); }
  else if (sub > 0x113) throw new RangeError(`unsupported opcode 0xfd ${sub}`);
  return sub;
}

function prefixedFE(r: Reader): number {
  const sub = r.u32();
  if (sub === 0x03) r.byte();
  else if (sub <= 0x02 || (sub >= 0x10 && sub <= 0x4e)) memarg(r);
  else throw new RangeError(`unsupported opcode 0xfe ${sub}`);
  return sub;
}

/** Opcodes that open a frame closed by `end` (or `delegate` for try). */
export const OPENS_FRAME = new Set([0x02, 0x03, 0x04, 0x06]);
