// roam:regions for the client place: the same host functions as engine/capabilities/regions.ts, but every
// access is a one-sided operation on the server's region (REGION_READ / REGION_WRITE / REGION_ATOMIC) done
// synchronously from the worker thread that runs the guest. Reads are not cached: the guest's own seqlock
// (kv reads the slot, then re-loads its version) validates each read against concurrent writers.
import { RoamError } from '../errors.ts';
import type { Capability, GuestContext } from '../capabilities/capability.ts';
import { AtomicOp, Kind } from '../wire/frame.ts';

/** Synchronous remote operation: frame kind, region index, payload → reply payload (throws RoamError). */
export type RemoteIo = (kind: number, region: number, payload: Uint8Array) => Uint8Array;

function check(ctx: GuestContext, id: number, offset: number, len: number, mode: 'r' | 'w', align = 1): void {
  const r = ctx.regions[id];
  if (!r) throw new RoamError('E_REGION', `region ${id} is not declared by bundle '${ctx.manifest.name}'`);
  if (ctx.allowed[id] !== 1) throw new RoamError('E_REGION', `handler did not declare region '${r.decl.name}'`);
  if (!r.decl.access.includes(mode)) throw new RoamError('E_REGION', `region '${r.decl.name}' is not declared ${mode === 'r' ? 'readable' : 'writable'}`);
  if (offset + len > r.decl.size) throw new RoamError('E_REGION', `region '${r.decl.name}' access out of bounds: offset ${offset} + ${len} > size ${r.decl.size}`);
  if (offset % align !== 0) throw new RoamError('E_REGION', `region '${r.decl.name}' atomic access at offset ${offset} is not ${align}-byte aligned`);
}

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
    functions: {
      read: '(i32,i32,i32,i32)->()',
      write: '(i32,i32,i32,i32)->()',
      load_u32: '(i32,i32)->i32',
      store_u32: '(i32,i32,i32)->()',
      cas_u32: '(i32,i32,i32,i32)->i32',
      fetch_add_u32: '(i32,i32,i32)->i32',
      cas_u64: '(i32,i32,i64,i64)->i64',
      fetch_add_u64: '(i32,i32,i64)->i64',
    },
    imports: (ctx) => ({
      read(id: number, offset: number, dst: number, len: number): void {
        offset >>>= 0; len >>>= 0;
        check(ctx, id, offset, len, 'r');
        const p = new Uint8Array(8);
        new DataView(p.buffer).setUint32(0, offset, true);
        new DataView(p.buffer).setUint32(4, len, true);
        ctx.bytes(dst >>> 0, len).set(io(Kind.REGION_READ, id, p));
      },
      write(id: number, offset: number, src: number, len: number): void {
        offset >>>= 0; len >>>= 0;
        check(ctx, id, offset, len, 'w');
        const p = new Uint8Array(4 + len);
        new DataView(p.buffer).setUint32(0, offset, true);
        p.set(ctx.bytes(src >>> 0, len), 4);
        io(Kind.REGION_WRITE, id, p);
      },
      load_u32(id: number, offset: number): number {
        check(ctx, id, offset >>> 0, 4, 'r', 4);
        return Number(atomic(id, AtomicOp.LOAD_U32, offset >>> 0, 0n, 0n)) | 0;
      },
      store_u32(id: number, offset: number, value: number): void {
        check(ctx, id, offset >>> 0, 4, 'w', 4);
        atomic(id, AtomicOp.STORE_U32, offset >>> 0, u32(value), 0n);
      },
      cas_u32(id: number, offset: number, expected: number, desired: number): number {
        check(ctx, id, offset >>> 0, 4, 'w', 4);
        return Number(atomic(id, AtomicOp.CAS_U32, offset >>> 0, u32(expected), u32(desired))) | 0;
      },
      fetch_add_u32(id: number, offset: number, delta: number): number {
        check(ctx, id, offset >>> 0, 4, 'w', 4);
        return Number(atomic(id, AtomicOp.ADD_U32, offset >>> 0, u32(delta), 0n)) | 0;
      },
      cas_u64(id: number, offset: number, expected: bigint, desired: bigint): bigint {
        check(ctx, id, offset >>> 0, 8, 'w', 8);
        return BigInt.asIntN(64, atomic(id, AtomicOp.CAS_U64, offset >>> 0, expected, desired));
      },
      fetch_add_u64(id: number, offset: number, delta: bigint): bigint {
        check(ctx, id, offset >>> 0, 8, 'w', 8);
        return BigInt.asIntN(64, atomic(id, AtomicOp.ADD_U64, offset >>> 0, delta, 0n));
      },
    }),
  };
}
