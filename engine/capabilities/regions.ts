import { RoamError } from '../errors.ts';
import { checkAccess, type BoundRegion } from '../regions/region-store.ts';
import type { Capability, GuestContext } from './capability.ts';

type Mode = 'r' | 'w';

/** Resolves region `id` for an access of `len` bytes at `offset`, or throws a clear E_REGION error. */
export function region(ctx: GuestContext, id: number, offset: number, len: number, mode: Mode, align = 1): BoundRegion {
  const r = ctx.regions[id];
  if (!r) throw new RoamError('E_REGION', `region ${id} is not declared by bundle '${ctx.manifest.name}'`);
  if (ctx.allowed[id] !== 1) throw new RoamError('E_REGION', `handler did not declare region '${r.decl.name}'`);
  return checkAccess(r, offset, len, mode, align);
}

/**
 * Copies len bytes. Word-aligned copies (a kv slot: 64 bytes) go word by word, ~5x faster than making two
 * views for set() and ~8x faster than a byte loop over shared memory; large or unaligned ones use set().
 */
function copy(dst: Uint8Array, d32: Uint32Array, at: number, src: Uint8Array, s32: Uint32Array, from: number, len: number): void {
  if (len <= 256 && ((at | from | len) & 3) === 0) {
    at >>>= 2; from >>>= 2; len >>>= 2;
    for (let i = 0; i < len; i++) d32[at + i] = s32[from + i]!;
    return;
  }
  dst.set(src.subarray(from, from + len), at);
}

/** The roam:regions host functions and their signatures (the same at every place). */
export const REGION_FUNCTIONS: Readonly<Record<string, string>> = {
  read: '(i32,i32,i32,i32)->()',
  write: '(i32,i32,i32,i32)->()',
  load_u32: '(i32,i32)->i32',
  store_u32: '(i32,i32,i32)->()',
  cas_u32: '(i32,i32,i32,i32)->i32',
  fetch_add_u32: '(i32,i32,i32)->i32',
  cas_u64: '(i32,i32,i64,i64)->i64',
  fetch_add_u64: '(i32,i32,i64)->i64',
};

/** roam:regions — one-sided reads/writes and atomics on declared regions (see guest-sdk/assembly/regions.ts). */
export const regions: Capability = {
  name: 'regions',
  module: 'roam:regions',
  functions: REGION_FUNCTIONS,
  imports: (ctx) => {
    // Linear memory as bytes and as words, re-made when the guest grows it.
    let g8: Uint8Array = new Uint8Array(0), g32: Uint32Array = new Uint32Array(0);
    const guest = (ptr: number, len: number) => {
      const mem = ctx.view();
      if (mem !== g8) (g8 = mem), (g32 = new Uint32Array(mem.buffer, 0, mem.length >>> 2));
      if (ptr + len > mem.length) throw new RoamError('E_GUEST_BOUNDS', `guest pointer ${ptr}+${len} is outside linear memory (${mem.length} bytes)`);
    };
    return {
      read(id: number, offset: number, dst: number, len: number): void {
        offset >>>= 0; len >>>= 0; dst >>>= 0;
        const r = region(ctx, id, offset, len, 'r');
        guest(dst, len);
        copy(g8, g32, dst, r.u8, r.u32, offset, len);
      },
      write(id: number, offset: number, src: number, len: number): void {
        offset >>>= 0; len >>>= 0; src >>>= 0;
        const r = region(ctx, id, offset, len, 'w');
        guest(src, len);
        copy(r.u8, r.u32, offset, g8, g32, src, len);
      },
      load_u32(id: number, offset: number): number {
        offset >>>= 0;
        return Atomics.load(region(ctx, id, offset, 4, 'r', 4).u32, offset >>> 2) | 0;
      },
      store_u32(id: number, offset: number, value: number): void {
        offset >>>= 0;
        Atomics.store(region(ctx, id, offset, 4, 'w', 4).u32, offset >>> 2, value >>> 0);
      },
      cas_u32(id: number, offset: number, expected: number, desired: number): number {
        offset >>>= 0;
        return Atomics.compareExchange(region(ctx, id, offset, 4, 'w', 4).u32, offset >>> 2, expected >>> 0, desired >>> 0) | 0;
      },
      fetch_add_u32(id: number, offset: number, delta: number): number {
        offset >>>= 0;
        return Atomics.add(region(ctx, id, offset, 4, 'w', 4).u32, offset >>> 2, delta >>> 0) | 0;
      },
      cas_u64(id: number, offset: number, expected: bigint, desired: bigint): bigint {
        offset >>>= 0;
        return Atomics.compareExchange(region(ctx, id, offset, 8, 'w', 8).i64, offset >>> 3, expected, desired);
      },
      fetch_add_u64(id: number, offset: number, delta: bigint): bigint {
        offset >>>= 0;
        return Atomics.add(region(ctx, id, offset, 8, 'w', 8).i64, offset >>> 3, delta);
      },
    };
  },
};
