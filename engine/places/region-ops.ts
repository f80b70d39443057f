import { RoamError } from '../errors.ts';
import type { Registered } from './bundle-table.ts';
import { AtomicOp } from '../wire/frame.ts';
import type { ConnectionLeases } from './leases.ts';
import { checkAccess } from '../regions/region-store.ts';

function region(b: Registered, index: number, offset: number, len: number, mode: 'r' | 'w', align = 1) {
  const r = b.regions[index];
  if (!r) throw new RoamError('E_REGION', `bundle '${b.manifest.name}' declares no region ${index}`);
  return checkAccess(r, offset, len, mode, align);
}

const need = (p: Uint8Array, n: number, what: string) => {
  if (p.length < n) throw new RoamError('E_FRAME', `${what} payload is ${p.length} bytes, needs ${n}`);
  return new DataView(p.buffer, p.byteOffset, p.byteLength);
};

/** One-sided read: payload u32 offset, u32 length → the bytes (a copy taken in one go). */
export function regionRead(b: Registered, index: number, p: Uint8Array, maxLen: number): Uint8Array {
  const dv = need(p, 8, 'REGION_READ');
  const off = dv.getUint32(0, true), len = dv.getUint32(4, true);
  if (len > maxLen) throw new RoamError('E_TOO_LARGE', `read of ${len} bytes exceeds the ${maxLen}-byte frame limit`);
  return region(b, index, off, len, 'r').u8.slice(off, off + len);
}

/** One-sided write: payload u32 offset, then the bytes. Under a lease the old bytes are logged first (leases.ts). */
export function regionWrite(b: Registered, index: number, p: Uint8Array, leases?: ConnectionLeases): void {
  const dv = need(p, 4, 'REGION_WRITE');
  const off = dv.getUint32(0, true);
  const r = region(b, index, off, p.length - 4, 'w');
  leases?.beforeWrite(b.id, index, r, off, p.length - 4);
  r.u8.set(p.subarray(4), off);
}

/** Atomic: payload u8 op, 3 pad, u32 offset, u64 a, u64 b → u64 old value (LE). Seqlocks taken get leases. */
export function regionAtomic(b: Registered, index: number, p: Uint8Array, leases?: ConnectionLeases): Uint8Array {
  const dv = need(p, 24, 'REGION_ATOMIC');
  const op = dv.getUint8(0), off = dv.getUint32(4, true);
  const a = dv.getBigUint64(8, true), c = dv.getBigUint64(16, true);
  leases?.beforeAtomic(b.id, index, op, off);
  let old: bigint;
  // Views resolved inline, not through closures made per message (tsx names each one: engine/README.md).
  switch (op) {
    case AtomicOp.LOAD_U32: old = BigInt(Atomics.load(region(b, index, off, 4, 'r', 4).u32, off >>> 2)); break;
    case AtomicOp.STORE_U32: old = BigInt(Atomics.exchange(region(b, index, off, 4, 'w', 4).u32, off >>> 2, Number(a & 0xffffffffn))); break;
    case AtomicOp.CAS_U32: old = BigInt(Atomics.compareExchange(region(b, index, off, 4, 'w', 4).u32, off >>> 2, Number(a & 0xffffffffn), Number(c & 0xffffffffn))); break;
    case AtomicOp.ADD_U32: old = BigInt(Atomics.add(region(b, index, off, 4, 'w', 4).u32, off >>> 2, Number(a & 0xffffffffn))); break;
    case AtomicOp.CAS_U64: old = BigInt.asUintN(64, Atomics.compareExchange(region(b, index, off, 8, 'w', 8).i64, off >>> 3, BigInt.asIntN(64, a), BigInt.asIntN(64, c))); break;
    case AtomicOp.ADD_U64: old = BigInt.asUintN(64, Atomics.add(region(b, index, off, 8, 'w', 8).i64, off >>> 3, BigInt.asIntN(64, a))); break;
    default: throw new RoamError('E_FRAME', `unknown atomic op ${op}`);
  }
  leases?.afterAtomic(b.id, index, b.regions[index]!, op, off, a, c, old);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, old), true);
  return out;
}
