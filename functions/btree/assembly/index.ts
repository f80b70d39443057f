// A Cell-style B+tree kept in the region `tree`: fixed 256-byte nodes, each guarded by a seqlock version, so
// a lookup can walk it with one-sided reads from anywhere (client, DPU, host cores): read the node, re-load
// its version, retry when torn. At the client every level is a round trip, which steering must account for.
//
// node 0 = superblock: u32 version | u32 root | u32 height (levels incl. leaves) | u32 nodes used
// node   = u32 version | u16 count | u16 leaf | u64 keys[15] @8 | u64 vals[15] @128
//          inner: keys[i] = smallest key under child vals[i]; leaf: vals[i] = the value of keys[i]
// Messages: lookup(key u64) → value u64 | 404; update(key u64, value u64) → "" | 404;
//           build(n u32, stride u32) → "" (keys (i+1)·stride, values key·3, i < n; replaces the tree).
import { inputPtr, output, fail, regionRead, regionWrite, loadU32, storeU32, casU32 } from "roam";

const TREE: i32 = 0;
const NODE: u32 = 256;
const FAN: u32 = 15;
const MAX_NODES: u32 = 16384; // region size / NODE
const KEYS: u32 = 8;
const VALS: u32 = 128;
const READ_RETRIES: i32 = 1000;

const node: usize = memory.data(256);
const sb: usize = memory.data(16);

/** Consistent copy of node `n` into `dst` (first `len` bytes); false if writers kept it busy. */
function readNode(n: u32, dst: usize, len: u32): bool {
  const off = n * NODE;
  for (let t = 0; t < READ_RETRIES; t++) {
    regionRead(TREE, off, dst, len);
    const v = load<u32>(dst);
    if ((v & 1) == 0 && loadU32(TREE, off) == v) return true;
  }
  return false;
}

function lock(n: u32): u32 {
  const off = n * NODE;
  for (;;) {
    const v = loadU32(TREE, off);
    if ((v & 1) == 0 && casU32(TREE, off, v, v + 1) == v) return v;
  }
  return 0;
}

/** Walks from the root to the leaf that would hold `key`; leaves it in `node`, returns its index or -1. */
function findLeaf(key: u64): i32 {
  if (!readNode(0, sb, 16)) return -2;
  const height = load<u32>(sb + 8);
  if (height == 0) return -1;
  let n = load<u32>(sb + 4);
  for (let level: u32 = 0; level < height; level++) {
    if (!readNode(n, node, NODE)) return -2;
    const count = <u32>load<u16>(node + 4);
    if (load<u16>(node + 6) == 1) return <i32>n;
    let c: u32 = 0;
    while (c + 1 < count && load<u64>(node + KEYS + (c + 1) * 8) <= key) c++;
    n = <u32>load<u64>(node + VALS + c * 8);
  }
  return -1;
}

function slotOf(key: u64): i32 {
  const count = <u32>load<u16>(node + 4);
  for (let i: u32 = 0; i < count; i++) if (load<u64>(node + KEYS + i * 8) == key) return <i32>i;
  return -1;
}

export function lookup(len: i32): i32 {
  if (len < 8) return fail(400, "key must be 8 bytes");
  const key = load<u64>(inputPtr());
  const leaf = findLeaf(key);
  if (leaf == -2) return fail(503, "node busy");
  const i = leaf < 0 ? -1 : slotOf(key);
  if (i < 0) return fail(404, "not found");
  store<u64>(output(8), load<u64>(node + VALS + <u32>i * 8));
  return 8;
}

export function update(len: i32): i32 {
  if (len < 16) return fail(400, "update takes key u64, value u64");
  const key = load<u64>(inputPtr());
  const leaf = findLeaf(key);
  if (leaf == -2) return fail(503, "node busy");
  if (leaf < 0 || slotOf(key) < 0) return fail(404, "not found");
  const v = lock(<u32>leaf);
  // Re-read under the lock: the slot may have moved (a concurrent build).
  regionRead(TREE, <u32>leaf * NODE, node, NODE);
  const i = slotOf(key);
  if (i >= 0) regionWrite(TREE, <u32>leaf * NODE + VALS + <u32>i * 8, inputPtr() + 8, 8);
  storeU32(TREE, <u32>leaf * NODE, v + 2);
  return i >= 0 ? 0 : fail(404, "not found");
}

/** Writes node `n` (count entries from `node`) under its seqlock. */
function writeNode(n: u32): void {
  const v = lock(n);
  regionWrite(TREE, n * NODE + 4, node + 4, NODE - 4);
  storeU32(TREE, n * NODE, v + 2);
}

export function build(len: i32): i32 {
  if (len < 8) return fail(400, "build takes n u32, stride u32");
  const n = load<u32>(inputPtr());
  const stride = <u64>load<u32>(inputPtr() + 4);
  if (n == 0 || stride == 0) return fail(400, "n and stride must be positive");
  // Bottom-up: leaves first, then each inner level over the one below, until one node is left.
  let next: u32 = 1;
  let levelStart = next;
  for (let i: u32 = 0; i < n; i += FAN) {
    if (next >= MAX_NODES) return fail(507, "tree region full");
    const count = min(FAN, n - i);
    store<u16>(node + 4, <u16>count);
    store<u16>(node + 6, 1);
    for (let j: u32 = 0; j < count; j++) {
      const k = (<u64>(i + j) + 1) * stride;
      store<u64>(node + KEYS + j * 8, k);
      store<u64>(node + VALS + j * 8, k * 3);
    }
    writeNode(next++);
  }
  let levelEnd = next;
  let height: u32 = 1;
  const first: usize = memory.data(8);
  while (levelEnd - levelStart > 1) {
    const start = next;
    for (let c = levelStart; c < levelEnd; c += FAN) {
      if (next >= MAX_NODES) return fail(507, "tree region full");
      const count = min(FAN, levelEnd - c);
      for (let j: u32 = 0; j < count; j++) {
        regionRead(TREE, (c + j) * NODE + KEYS, first, 8);
        store<u64>(node + KEYS + j * 8, load<u64>(first));
        store<u64>(node + VALS + j * 8, <u64>(c + j));
      }
      store<u16>(node + 4, <u16>count);
      store<u16>(node + 6, 0);
      writeNode(next++);
    }
    levelStart = start;
    levelEnd = next;
    height++;
  }
  const v = lock(0);
  store<u32>(sb + 4, levelStart);
  store<u32>(sb + 8, height);
  store<u32>(sb + 12, next);
  regionWrite(TREE, 4, sb + 4, 12);
  storeU32(TREE, 0, v + 2);
  return 0;
}
