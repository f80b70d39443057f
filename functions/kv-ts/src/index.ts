// functions/kv in TypeScript: the same MICA-style table, slot layout, hash and seqlock protocol, so this
// bundle and the AssemblyScript one read and write each other's tables (a new version of `kv` may be
// either). slot = u32 version (odd while written) | u32 value length | u64 key | 48 bytes value.
// Messages: get(key u64) → value | 404; put(key u64, value ≤ 48 bytes) → ""; del(key u64) → "" | 404.
import { handler, fail, regionRead, regionWrite, loadU32, storeU32, casU32 } from "roam/guest";

const TABLE = 0;
const SLOT = 64;
const MASK = 16384 - 1;
const PROBES = 32;
const MAX_VALUE = 48;
const READ_RETRIES = 1000;
const ONES = 0xffffffff;

// Keys are u64 held as two u32 halves (hi, lo): BigInt arithmetic allocates on every operation in QuickJS,
// 32-bit halves do not. Key 0 is an empty slot, 2^64-1 a tombstone.
let mh = 0;
let ml = 0;
/** (ah:al) * (bh:bl) mod 2^64 into (mh:ml), exact in doubles (16-bit limbs for the low product). */
function mul64(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  ml = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  const carry = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
  mh = (carry + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

/** The AS kv's hash (murmur3 fmix64) of key (hi:lo), low 32 bits. */
function hash(hi: number, lo: number): number {
  lo = (lo ^ (hi >>> 1)) >>> 0;
  mul64(hi, lo, 0xff51afd7, 0xed558ccd);
  mul64(mh, (ml ^ (mh >>> 1)) >>> 0, 0xc4ceb9fe, 0x1a85ec53);
  return (ml ^ (mh >>> 1)) >>> 0;
}

const u32 = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
const put32 = (b: Uint8Array, at: number, v: number): void => {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
};
const slotOffset = (h: number, i: number): number => (((h + i) >>> 0) & MASK) * SLOT;

/** A consistent copy of the slot at `off`, or null when writers kept it busy. */
function readSlot(off: number): Uint8Array | null {
  for (let t = 0; t < READ_RETRIES; t++) {
    const s = regionRead(TABLE, off, SLOT);
    const v = u32(s, 0);
    if ((v & 1) === 0 && loadU32(TABLE, off) === v) return s;
  }
  return null;
}

/** Takes the slot's seqlock; returns the even version it held (a stuck writer runs this out of fuel). */
function lock(off: number): number {
  for (;;) {
    const v = loadU32(TABLE, off);
    if ((v & 1) === 0 && casU32(TABLE, off, v, v + 1) === v) return v;
  }
}

/** The message's key halves in (kh, kl); false when it is missing or reserved. */
let kh = 0;
let kl = 0;
function keyOf(input: Uint8Array): boolean {
  if (input.length < 8) return false;
  kl = u32(input, 0);
  kh = u32(input, 4);
  return !((kl === 0 && kh === 0) || (kl === ONES && kh === ONES));
}
const badKey = (): never => fail(400, "key must be 8 bytes, not 0 or 2^64-1");
const isKey = (s: Uint8Array, at: number): boolean => u32(s, at) === kl && u32(s, at + 4) === kh;
const isEmpty = (s: Uint8Array, at: number): boolean => u32(s, at) === 0 && u32(s, at + 4) === 0;

export const get = handler((input) => {
  if (!keyOf(input)) badKey();
  const h = hash(kh, kl);
  for (let i = 0; i < PROBES; i++) {
    const s = readSlot(slotOffset(h, i)) ?? fail(503, "slot busy");
    if (isKey(s, 8)) return s.slice(16, 16 + u32(s, 4));
    if (isEmpty(s, 8)) break;
  }
  fail(404, "not found");
});

export const put = handler((input) => {
  if (!keyOf(input)) badKey();
  const n = input.length - 8;
  if (n > MAX_VALUE) fail(413, "value over 48 bytes");
  const h = hash(kh, kl);
  for (let i = 0; i < PROBES; i++) {
    const off = slotOffset(h, i);
    const s = readSlot(off) ?? fail(503, "slot busy");
    if (!isKey(s, 8) && !isEmpty(s, 8)) continue;
    const v = lock(off);
    const now = regionRead(TABLE, off + 8, 8);
    if (!isKey(now, 0) && !isEmpty(now, 0)) { // lost a race for an empty slot: release unchanged, probe on
      storeU32(TABLE, off, v);
      continue;
    }
    const w = new Uint8Array(12 + n);
    put32(w, 0, n);
    put32(w, 4, kl);
    put32(w, 8, kh);
    w.set(input.subarray(8), 12);
    regionWrite(TABLE, off + 4, w);
    storeU32(TABLE, off, v + 2);
    return;
  }
  fail(507, "table full along this probe sequence");
});

export const del = handler((input) => {
  if (!keyOf(input)) badKey();
  const h = hash(kh, kl);
  for (let i = 0; i < PROBES; i++) {
    const off = slotOffset(h, i);
    const s = readSlot(off) ?? fail(503, "slot busy");
    if (isEmpty(s, 8)) break;
    if (!isKey(s, 8)) continue;
    const v = lock(off);
    const w = new Uint8Array(12);
    put32(w, 4, ONES);
    put32(w, 8, ONES);
    regionWrite(TABLE, off + 4, w);
    storeU32(TABLE, off, v + 2);
    return;
  }
  fail(404, "not found");
});
