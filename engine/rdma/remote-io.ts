// The client place's remote region operations (engine/client/remote-regions.ts RemoteIo: REGION_READ,
// REGION_WRITE and REGION_ATOMIC payloads, answered synchronously) done over UCX from the thread that
// runs the guest, instead of frames over the wire protocol answered by server JavaScript. The guest's
// own seqlock (kv's readSlot) validates reads, as over the wire. Operations complete in place (shared
// memory, one-sided) or are progressed on this thread until done: give this thread its own worker.
import { RoamError } from '../errors.ts';
import { AtomicOp as WireAtomic, Kind } from '../wire/frame.ts';
import { AtomicOp, type RemoteRegion } from './endpoint.ts';
import type { Done } from './worker.ts';

export type RemoteIo = (kind: number, region: number, payload: Uint8Array) => Uint8Array;

/** How long one operation may take before the guest's call fails (a peer that stopped answering). */
export const DEFAULT_OP_TIMEOUT_MS = 5000;

const EMPTY = new Uint8Array(0);
const late: Done = () => {}; // an operation that timed out already failed the guest's call

/** A RemoteIo over UCX: `regions[i]` is the bundle's region i at the owner. */
export function rdmaRemoteIo(regions: RemoteRegion[], timeoutMs = DEFAULT_OP_TIMEOUT_MS): RemoteIo {
  regions[0]?.endpoint.worker.setSpin(timeoutMs * 1e6); // spin on this thread until each completes
  const io = new Uint8Array(16);
  const iov = new DataView(io.buffer);
  const sync = (ok: boolean, what: string) => {
    if (!ok) throw new RoamError('E_RDMA_TIMEOUT', `${what} did not complete in ${timeoutMs} ms (the owner stopped answering)`);
  };
  const atomic = (r: RemoteRegion, op: number, off: number, width: 4 | 8, a: bigint, b: bigint): Uint8Array => {
    iov.setBigUint64(0, BigInt.asUintN(64, a), true);
    iov.setBigUint64(8, BigInt.asUintN(64, b), true);
    sync(r.atomic(off, op, width, io, late), 'remote atomic');
    const out = new Uint8Array(8);
    out.set(io.subarray(8, 8 + width));
    return out;
  };
  return (kind, index, p) => {
    const r = regions[index];
    if (!r) throw new RoamError('E_REGION', `no remote region ${index}`);
    const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
    if (kind === Kind.REGION_READ) {
      const dest = new Uint8Array(dv.getUint32(4, true));
      sync(r.get(dv.getUint32(0, true), dest, late), 'remote read');
      return dest;
    }
    if (kind === Kind.REGION_WRITE) {
      sync(r.put(dv.getUint32(0, true), p.subarray(4), late), 'remote write');
      return EMPTY;
    }
    if (kind !== Kind.REGION_ATOMIC) throw new RoamError('E_FRAME', `not a region operation: kind ${kind}`);
    const op = dv.getUint8(0), off = dv.getUint32(4, true), a = dv.getBigUint64(8, true), c = dv.getBigUint64(16, true);
    switch (op) {
      case WireAtomic.LOAD_U32: return atomic(r, AtomicOp.ADD, off, 4, 0n, 0n);
      case WireAtomic.STORE_U32: return atomic(r, AtomicOp.SWAP, off, 4, a, 0n);
      case WireAtomic.CAS_U32: return atomic(r, AtomicOp.CSWAP, off, 4, a, c);
      case WireAtomic.ADD_U32: return atomic(r, AtomicOp.ADD, off, 4, a, 0n);
      case WireAtomic.CAS_U64: return atomic(r, AtomicOp.CSWAP, off, 8, a, c);
      case WireAtomic.ADD_U64: return atomic(r, AtomicOp.ADD, off, 8, a, 0n);
    }
    throw new RoamError('E_FRAME', `unknown atomic op ${op}`);
  };
}
