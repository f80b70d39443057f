/**
 * Datatypes as the host sees them: a byte layout per element (blocks), size and extent, and
 * the primitive kind reductions work on. Contiguous types are sent straight from guest memory;
 * others are packed/unpacked.
 */
export type Kind = 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'u32' | 'i64' | 'u64' | 'f32' | 'f64' | 'bool' | 'byte' | 'cplx32' | 'cplx64';
/** MAXLOC/MINLOC pair: value kind followed by an int index, packed as [value][i32]. */
export interface PairKind { value: Kind; }

export interface Datatype {
  size: number;
  extent: number;
  /** [offset, length] of the bytes of one element, sorted, merged. */
  blocks: Array<[number, number]>;
  /** Base element kind for reductions (or a pair for MAXLOC/MINLOC types). */
  kind: Kind | PairKind;
  /** Bytes of one base element in packed form. */
  baseSize: number;
  contiguous: boolean;
  predefined: boolean;
  committed: boolean;
  name: string;
}

const KSIZE: Record<Kind, number> = { i8: 1, u8: 1, i16: 2, u16: 2, i32: 4, u32: 4, i64: 8, u64: 8, f32: 4, f64: 8, bool: 1, byte: 1, cplx32: 8, cplx64: 16 };
export const kindSize = (k: Kind) => KSIZE[k];

function prim(name: string, kind: Kind): Datatype {
  const s = KSIZE[kind];
  return { size: s, extent: s, blocks: [[0, s]], kind, baseSize: s, contiguous: true, predefined: true, committed: true, name };
}
function pair(name: string, value: Kind, idxOff: number, extent: number): Datatype {
  const vs = KSIZE[value];
  const blocks: Array<[number, number]> = idxOff === vs ? [[0, vs + 4]] : [[0, vs], [idxOff, 4]];
  return { size: vs + 4, extent, blocks, kind: { value }, baseSize: vs + 4, contiguous: blocks.length === 1 && extent === vs + 4, predefined: true, committed: true, name };
}

/** Predefined datatypes by ABI handle, with wasm32 sizes (long = 4, long double = 16 bytes, treated as opaque). */
export const PREDEFINED: Map<number, Datatype> = new Map([
  [0x201, prim('MPI_AINT', 'i32')], [0x202, prim('MPI_COUNT', 'i64')], [0x203, prim('MPI_OFFSET', 'i64')],
  [0x207, prim('MPI_PACKED', 'byte')], [0x208, prim('MPI_SHORT', 'i16')], [0x209, prim('MPI_INT', 'i32')],
  [0x20a, prim('MPI_LONG', 'i32')], [0x20b, prim('MPI_LONG_LONG', 'i64')], [0x20c, prim('MPI_UNSIGNED_SHORT', 'u16')],
  [0x20d, prim('MPI_UNSIGNED', 'u32')], [0x20e, prim('MPI_UNSIGNED_LONG', 'u32')], [0x20f, prim('MPI_UNSIGNED_LONG_LONG', 'u64')],
  [0x210, prim('MPI_FLOAT', 'f32')], [0x212, prim('MPI_C_FLOAT_COMPLEX', 'cplx32')], [0x214, prim('MPI_DOUBLE', 'f64')],
  [0x216, prim('MPI_C_DOUBLE_COMPLEX', 'cplx64')],
  [0x220, { ...prim('MPI_LONG_DOUBLE', 'byte'), size: 16, extent: 16, blocks: [[0, 16]], baseSize: 16 }],
  [0x228, pair('MPI_FLOAT_INT', 'f32', 4, 8)], [0x229, pair('MPI_DOUBLE_INT', 'f64', 8, 16)],
  [0x22a, pair('MPI_LONG_INT', 'i32', 4, 8)], [0x22b, pair('MPI_2INT', 'i32', 4, 8)], [0x22c, pair('MPI_SHORT_INT', 'i16', 4, 8)],
  [0x238, prim('MPI_C_BOOL', 'bool')], [0x23c, prim('MPI_WCHAR', 'i32')],
  [0x240, prim('MPI_INT8_T', 'i8')], [0x241, prim('MPI_UINT8_T', 'u8')], [0x243, prim('MPI_CHAR', 'i8')],
  [0x244, prim('MPI_SIGNED_CHAR', 'i8')], [0x245, prim('MPI_UNSIGNED_CHAR', 'u8')], [0x247, prim('MPI_BYTE', 'byte')],
  [0x248, prim('MPI_INT16_T', 'i16')], [0x249, prim('MPI_UINT16_T', 'u16')], [0x250, prim('MPI_INT32_T', 'i32')],
  [0x251, prim('MPI_UINT32_T', 'u32')], [0x258, prim('MPI_INT64_T', 'i64')], [0x259, prim('MPI_UINT64_T', 'u64')],
]);

function merge(blocks: Array<[number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [o, l] of blocks) {
    const last = out[out.length - 1];
    if (last && last[0] + last[1] === o) last[1] += l;
    else out.push([o, l]);
  }
  return out;
}
function derived(old: Datatype, blocks: Array<[number, number]>, size: number, extent: number, name: string): Datatype {
  const b = merge(blocks);
  return { size, extent, blocks: b, kind: old.kind, baseSize: old.baseSize, contiguous: b.length === 1 && b[0][0] === 0 && extent === size, predefined: false, committed: false, name };
}
export function contiguous(count: number, old: Datatype): Datatype {
  const blocks: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) for (const [o, l] of old.blocks) blocks.push([i * old.extent + o, l]);
  return derived(old, blocks, count * old.size, count * old.extent, `contiguous(${count}, ${old.name})`);
}
export function vector(count: number, blocklen: number, stride: number, old: Datatype): Datatype {
  const blocks: Array<[number, number]> = [];
  for (let i = 0; i < count; i++)
    for (let j = 0; j < blocklen; j++) for (const [o, l] of old.blocks) blocks.push([(i * stride + j) * old.extent + o, l]);
  const extent = count > 0 ? ((count - 1) * stride + blocklen) * old.extent : 0;
  return derived(old, blocks, count * blocklen * old.size, extent, `vector(${count}, ${blocklen}, ${stride}, ${old.name})`);
}

/** Bytes of memory touched by `count` elements starting at the buffer address. */
export function span(dt: Datatype, count: number): number {
  if (count <= 0) return 0;
  const last = dt.blocks[dt.blocks.length - 1];
  return (count - 1) * dt.extent + (last ? last[0] + last[1] : 0);
}

/** Gathers `count` elements at mem[ptr] into packed bytes (a view when contiguous). */
export function pack(mem: Uint8Array, ptr: number, count: number, dt: Datatype): Uint8Array {
  if (dt.contiguous) return mem.subarray(ptr, ptr + count * dt.size);
  const out = new Uint8Array(count * dt.size);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const base = ptr + i * dt.extent;
    for (const [o, l] of dt.blocks) {
      out.set(mem.subarray(base + o, base + o + l), at);
      at += l;
    }
  }
  return out;
}
/** Scatters packed bytes into `count` elements at mem[ptr] (stops at the end of `src`). */
export function unpack(src: Uint8Array, mem: Uint8Array, ptr: number, count: number, dt: Datatype): void {
  if (dt.contiguous) {
    mem.set(src.subarray(0, Math.min(src.length, count * dt.size)), ptr);
    return;
  }
  let at = 0;
  for (let i = 0; i < count && at < src.length; i++) {
    const base = ptr + i * dt.extent;
    for (const [o, l] of dt.blocks) {
      if (at >= src.length) return;
      const n = Math.min(l, src.length - at);
      mem.set(src.subarray(at, at + n), base + o);
      at += n;
    }
  }
}
