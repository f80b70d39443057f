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
const EMPTY = 0n;
const TOMB = 0xffffffffffffffffn;
const READ_RETRIES = 1000;
const M64 = 0xffffffffffffffffn;

/** The AS kv's hash (murmur3 fmix64), low 32 bits. */
function hash(k: bigint): number {
  k ^= k >> 33n;
  k = (k * 0xff51afd7ed558ccdn) & M64;
  k ^= k >> 33n;
  k = (k * 0xc4ceb9fe1a85ec53n) & M64;
  k ^= k >> 33n;
  return Number(k & 0xffffffffn);
}

const slotOffset = (h: number, i: number): number => (((h + i) >>> 0) & MASK) * SLOT;
const u32 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
const u64 = (b: Uint8Array, at: number): bigint => new DataView(b.buffer, b.byteOffset).getBigUint64(at, true);

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

function keyOf(input: Uint8Array): bigint {
  if (input.length < 8) return EMPTY;
  const k = u64(input, 0);
  return k === TOMB ? EMPTY : k;
}
const badKey = (): never => fail(400, "key must be 8 bytes, not 0 or 2^64-1");

export const get = handler((input) => {
  const key = keyOf(input);
  if (key === EMPTY) badKey();
  const h = hash(key);
  for (let i = 0; i < PROBES; i++) {
    const s = readSlot(slotOffset(h, i)) ?? fail(503, "slot busy");
    const k = u64(s, 8);
    if (k === key) return s.slice(16, 16 + u32(s, 4));
    if (k === EMPTY) break;
  }
  fail(404, "not found");
});

export const put = handler((input) => {
  const key = keyOf(input);
  if (key === EMPTY) badKey();
  const n = input.length - 8;
  if (n > MAX_VALUE) fail(413, "value over 48 bytes");
  const h = hash(key);
  for (let i = 0; i < PROBES; i++) {
    const off = slotOffset(h, i);
    const s = readSlot(off) ?? fail(503, "slot busy");
    const k = u64(s, 8);
    if (k !== key && k !== EMPTY) continue;
    const v = lock(off);
    const now = u64(regionRead(TABLE, off + 8, 8), 0);
    if (now !== key && now !== EMPTY) { // lost a race for an empty slot: release unchanged, probe on
      storeU32(TABLE, off, v);
      continue;
    }
    const w = new Uint8Array(12 + n);
    const dv = new DataView(w.buffer);
    dv.setUint32(0, n, true);
    dv.setBigUint64(4, key, true);
    w.set(input.subarray(8), 12);
    regionWrite(TABLE, off + 4, w);
    storeU32(TABLE, off, v + 2);
    return;
  }
  fail(507, "table full along this probe sequence");
});

export const del = handler((input) => {
  const key = keyOf(input);
  if (key === EMPTY) badKey();
  const h = hash(key);
  for (let i = 0; i < PROBES; i++) {
    const off = slotOffset(h, i);
    const s = readSlot(off) ?? fail(503, "slot busy");
    const k = u64(s, 8);
    if (k === EMPTY) break;
    if (k !== key) continue;
    const v = lock(off);
    const w = new Uint8Array(12);
    new DataView(w.buffer).setBigUint64(4, TOMB, true);
    regionWrite(TABLE, off + 4, w);
    storeU32(TABLE, off, v + 2);
    return;
  }
  fail(404, "not found");
});
