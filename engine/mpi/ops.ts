import { OP } from './abi.ts';
import type { Kind, PairKind } from './datatypes.ts';
import { kindSize } from './datatypes.ts';

/**
 * Predefined reductions on packed buffers: inout[i] = in[i] op inout[i].
 * Buffers are copied to aligned typed arrays (packed data may sit at any offset).
 */
type Arr = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | Float32Array | Float64Array;

function typed(kind: Kind, bytes: Uint8Array): Arr {
  const b = bytes.slice().buffer;
  switch (kind) {
    case 'i8': return new Int8Array(b);
    case 'u8': case 'bool': case 'byte': return new Uint8Array(b);
    case 'i16': return new Int16Array(b);
    case 'u16': return new Uint16Array(b);
    case 'i32': return new Int32Array(b);
    case 'u32': return new Uint32Array(b);
    case 'i64': return new BigInt64Array(b);
    case 'u64': return new BigUint64Array(b);
    case 'f32': case 'cplx32': return new Float32Array(b);
    case 'f64': case 'cplx64': return new Float64Array(b);
  }
}

const OPNAME: Record<number, string> = Object.fromEntries(Object.entries(OP).map(([k, v]) => [v, `MPI_${k}`]));
export const opName = (op: number) => OPNAME[op] ?? `op ${op}`;

/** Returns an error string when the op does not apply to the kind, else reduces in place. */
export function reduce(op: number, kind: Kind | PairKind, input: Uint8Array, inout: Uint8Array): string | null {
  if (op === OP.NO_OP) return null;
  if (op === OP.REPLACE) { inout.set(input.subarray(0, inout.length)); return null; }
  if (typeof kind === 'object') return reducePair(op, kind, input, inout);
  if (op === OP.MAXLOC || op === OP.MINLOC) return `${opName(op)} needs a pair type such as MPI_DOUBLE_INT`;
  if (kind === 'byte' && !(op === OP.BAND || op === OP.BOR || op === OP.BXOR)) return `${opName(op)} is not defined on MPI_BYTE`;
  if (kind === 'cplx32' || kind === 'cplx64') {
    if (op !== OP.SUM && op !== OP.PROD) return `${opName(op)} is not defined on complex types`;
    const a = typed(kind, input) as Float64Array, b = typed(kind, inout) as Float64Array;
    for (let i = 0; i + 1 < b.length; i += 2) {
      if (op === OP.SUM) { b[i] += a[i]; b[i + 1] += a[i + 1]; }
      else { const re = a[i] * b[i] - a[i + 1] * b[i + 1]; b[i + 1] = a[i] * b[i + 1] + a[i + 1] * b[i]; b[i] = re; }
    }
    inout.set(new Uint8Array(b.buffer));
    return null;
  }
  const a = typed(kind, input) as any, b = typed(kind, inout) as any;
  const isFloat = kind === 'f32' || kind === 'f64';
  const big = kind === 'i64' || kind === 'u64';
  const Z = big ? 0n : 0, O = big ? 1n : 1;
  for (let i = 0; i < b.length; i++) {
    const x = a[i], y = b[i];
    switch (op) {
      case OP.SUM: b[i] = x + y; break;
      case OP.PROD: b[i] = x * y; break;
      case OP.MAX: b[i] = x > y ? x : y; break;
      case OP.MIN: b[i] = x < y ? x : y; break;
      case OP.LAND: b[i] = x != Z && y != Z ? O : Z; break;
      case OP.LOR: b[i] = x != Z || y != Z ? O : Z; break;
      case OP.LXOR: b[i] = (x != Z) !== (y != Z) ? O : Z; break;
      case OP.BAND: case OP.BOR: case OP.BXOR:
        if (isFloat) return `${opName(op)} is not defined on floating types`;
        b[i] = op === OP.BAND ? x & y : op === OP.BOR ? x | y : x ^ y; break;
      default: return `unknown op ${op}`;
    }
  }
  inout.set(new Uint8Array(b.buffer));
  return null;
}

function reducePair(op: number, kind: PairKind, input: Uint8Array, inout: Uint8Array): string | null {
  if (op !== OP.MAXLOC && op !== OP.MINLOC) return `${opName(op)} is not defined on pair types (only MPI_MAXLOC/MPI_MINLOC)`;
  const vs = kindSize(kind.value), es = vs + 4;
  const dvIn = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const dvIo = new DataView(inout.buffer, inout.byteOffset, inout.byteLength);
  const get = (dv: DataView, off: number): number => {
    switch (kind.value) {
      case 'f32': return dv.getFloat32(off, true);
      case 'f64': return dv.getFloat64(off, true);
      case 'i16': return dv.getInt16(off, true);
      default: return dv.getInt32(off, true);
    }
  };
  for (let off = 0; off + es <= inout.length; off += es) {
    const x = get(dvIn, off), y = get(dvIo, off);
    const xi = dvIn.getInt32(off + vs, true), yi = dvIo.getInt32(off + vs, true);
    const takeIn = op === OP.MAXLOC ? x > y || (x === y && xi < yi) : x < y || (x === y && xi < yi);
    if (takeIn) inout.set(input.subarray(off, off + es), off);
  }
  return null;
}
