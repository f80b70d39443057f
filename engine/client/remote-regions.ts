// roam:regions for the client place: the same host functions as engine/capabilities/regions.ts, but every
// access is a one-sided operation on the server's region (REGION_READ / REGION_WRITE / REGION_ATOMIC) done
// synchronously from the worker thread that runs the guest. Reads are not cached: the guest's own seqlock
// (kv reads the slot, then re-loads its version) validates each read against concurrent writers.
import type { Capability } from '../capabilities/capability.ts';
// The same access checks as at the server (`region`): a bad access fails here, before any round trip.
import { region, REGION_FUNCTIONS } from '../capabilities/regions.ts';
import { AtomicOp, Kind } from '../wire/frame.ts';

/** Synchronous remote operation: frame kind, region index, payload → reply payload (throws RoamError). */
export type RemoteIo = (kind: number, region: number, payload: Uint8Array) => Uint8Array;

export function remoteRegions(io: RemoteIo): Capability {
  const atomic = (region: number, op: number, offset: number, a: bigint, b: bigint): bigint => {
    const p = new Uint8Array(24);
    const dv = new DataView(p.buffer);
    dv.setUint8(0, op);
    dv.setUint32(4, offset, true);
    dv.setBigUint64(8, BigInt.asUintN(64, a), true);
    dv.setBigUint64(16, BigInt.asUintN(64, b), true);
    const r = io(Kind.REGION_ATOMIC, region, p);
    return new DataView(r.buffer, r.byteOffset, r.byteLength).getBigUint64(0, true);
  };
  const u32 = (v: number) => BigInt(v >>> 0);
  return {
    name: 'regions',
    module: 'roam:regions',
    functions: REGION_FUNCTIONS,
    imports: (ctx) => ({
      read(id: number, offset: number, dst: number, len: number): void {
        offset >>>= 0; len >>>= 0;
        region(ctx, id, offset, len, 'r');
        const p = new Uint8Array(8);
        new DataView(p.buffer).setUint32(0, offset, true);
        new DataView(p.buffer).setUint32(4, len, true);
        ctx.bytes(dst >>> 0, len).set(io(Kind.REGION_READ, id, p));
      },
      write(id: number, offset: number, src: number, len: number): void {
        offset >>>= 0; len >>>= 0;
        region(ctx, id, offset, len, 'w');
        const p = new Uint8Array(4 + len);
        new DataView(p.buffer).setUint32(0, offset, true);
        p.set(ctx.bytes(src >>> 0, len), 4);
        io(Kind.REGION_WRITE, id, p);
      },
      load_u32(id: number, offset: number): number {
        region(ctx, id, offset >>> 0, 4, 'r', 4);
        return Number(atomic(id, AtomicOp.LOAD_U32, offset >>> 0, 0n, 0n)) | 0;
      },
      store_u32(id: number, offset: number, value: number): void {
        region(ctx, id, offset >>> 0, 4, 'w', 4);
        atomic(id, AtomicOp.STORE_U32, offset >>> 0, u32(value), 0n);
      },
      cas_u32(id: number, offset: number, expected: number, desired: number): number {
        region(ctx, id, offset >>> 0, 4, 'w', 4);
        return Number(atomic(id, AtomicOp.CAS_U32, offset >>> 0, u32(expected), u32(desired))) | 0;
      },
      fetch_add_u32(id: number, offset: number, delta: number): number {
        region(ctx, id, offset >>> 0, 4, 'w', 4);
        return Number(atomic(id, AtomicOp.ADD_U32, offset >>> 0, u32(delta), 0n)) | 0;
      },
      cas_u64(id: number, offset: number, expected: bigint, desired: bigint): bigint {
        region(ctx, id, offset >>> 0, 8, 'w', 8);
        return BigInt.asIntN(64, atomic(id, AtomicOp.CAS_U64, offset >>> 0, expected, desired));
      },
      fetch_add_u64(id: number, offset: number, delta: bigint): bigint {
        region(ctx, id, offset >>> 0, 8, 'w', 8);
        return BigInt.asIntN(64, atomic(id, AtomicOp.ADD_U64, offset >>> 0, delta, 0n));
      },
    }),
  };
}
