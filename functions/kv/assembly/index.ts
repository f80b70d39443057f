// A MICA-style key-value table kept in the region `table`: open addressing over 64-byte slots,
// each guarded by a seqlock version so one-sided readers (at the client, the DPU or host cores)
// can detect and retry torn reads while writers update in place.
//
// slot = u32 version (odd while a writer holds it) | u32 value length | u64 key | 48 bytes value
// key 0 = empty, key 2^64-1 = deleted (tombstone; slots are not reused after delete).
// Messages: get(key u64) → value | 404; put(key u64, value ≤ 48 bytes) → ""; del(key u64) → "" | 404.
import { inputPtr, output, fail, regionRead, regionWrite, loadU32, storeU32, casU32 } from "roam";

const TABLE: i32 = 0;
const SLOT: u32 = 64;
const SLOTS: u32 = 16384; // region size / SLOT
const MASK: u32 = SLOTS - 1;
const PROBES: u32 = 32;
const MAX_VALUE: i32 = 48;
const EMPTY: u64 = 0;
const TOMB: u64 = 0xffffffffffffffff;
const READ_RETRIES: i32 = 1000;

const scratch: usize = memory.data(64);

function hash(k: u64): u32 {
  k ^= k >> 33; k *= 0xff51afd7ed558ccd;
  k ^= k >> 33; k *= 0xc4ceb9fe1a85ec53;
  k ^= k >> 33;
  return <u32>k;
}

function slotOffset(key: u64, i: u32): u32 {
  return ((hash(key) + i) & MASK) * SLOT;
}

/** Reads a consistent copy of the slot at `off` into scratch; false if writers kept it busy. */
function readSlot(off: u32): bool {
  for (let t = 0; t < READ_RETRIES; t++) {
    regionRead(TABLE, off, scratch, SLOT);
    const v = load<u32>(scratch);
    if ((v & 1) == 0 && loadU32(TABLE, off) == v) return true;
  }
  return false;
}

/** Takes the slot's seqlock; returns the even version it held. */
function lock(off: u32): u32 {
  for (;;) {
    const v = loadU32(TABLE, off);
    if ((v & 1) == 0 && casU32(TABLE, off, v, v + 1) == v) return v;
  }
  return 0; // not reached: a writer that never releases runs the spinner out of fuel
}

/** The message's key, or EMPTY when it is missing or reserved (0 = empty slot, 2^64-1 = tombstone). */
function keyOf(len: i32): u64 {
  if (len < 8) return EMPTY;
  const k = load<u64>(inputPtr());
  return k == TOMB ? EMPTY : k;
}

function badKey(): i32 {
  return fail(400, "key must be 8 bytes, not 0 or 2^64-1");
}

export function get(len: i32): i32 {
  const key = keyOf(len);
  if (key == EMPTY) return badKey();
  for (let i: u32 = 0; i < PROBES; i++) {
    const off = slotOffset(key, i);
    if (!readSlot(off)) return fail(503, "slot busy");
    const k = load<u64>(scratch + 8);
    if (k == key) {
      const n = <i32>load<u32>(scratch + 4);
      memory.copy(output(n), scratch + 16, <usize>n);
      return n;
    }
    if (k == EMPTY) break;
  }
  return fail(404, "not found");
}

export function put(len: i32): i32 {
  const key = keyOf(len);
  if (key == EMPTY) return badKey();
  const n = len - 8;
  if (n > MAX_VALUE) return fail(413, "value over 48 bytes");
  for (let i: u32 = 0; i < PROBES; i++) {
    const off = slotOffset(key, i);
    if (!readSlot(off)) return fail(503, "slot busy");
    const k = load<u64>(scratch + 8);
    if (k != key && k != EMPTY) continue;
    const v = lock(off);
    regionRead(TABLE, off + 8, scratch + 8, 8);
    const now = load<u64>(scratch + 8);
    if (now != key && now != EMPTY) { // lost a race for an empty slot: release unchanged, probe on
      storeU32(TABLE, off, v);
      continue;
    }
    store<u32>(scratch + 4, <u32>n);
    store<u64>(scratch + 8, key);
    memory.copy(scratch + 16, inputPtr() + 8, <usize>n);
    regionWrite(TABLE, off + 4, scratch + 4, 12 + <u32>n);
    storeU32(TABLE, off, v + 2);
    return 0;
  }
  return fail(507, "table full along this probe sequence");
}

export function del(len: i32): i32 {
  const key = keyOf(len);
  if (key == EMPTY) return badKey();
  for (let i: u32 = 0; i < PROBES; i++) {
    const off = slotOffset(key, i);
    if (!readSlot(off)) return fail(503, "slot busy");
    const k = load<u64>(scratch + 8);
    if (k == EMPTY) break;
    if (k != key) continue;
    const v = lock(off);
    store<u32>(scratch + 4, 0);
    store<u64>(scratch + 8, TOMB);
    regionWrite(TABLE, off + 4, scratch + 4, 12);
    storeU32(TABLE, off, v + 2);
    return 0;
  }
  return fail(404, "not found");
}
