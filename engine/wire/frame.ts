// roam wire framing (spec: engine/wire/README.md). One 16-byte header, then the payload.
//  0  u8   magic 0xB7 (not ASCII: an HTTP request line cannot start with it)
//  1  u8   version (1)
//  2  u8   kind
//  3  u8   place (low 4 bits: requested in calls, the one that ran it in replies) | flags (high 4 bits)
//  4  u32  request id (echoed in the reply)
//  8  u16  bundle id
// 10  u16  handler type / region index / status
// 12  u32  payload length
export const MAGIC = 0xb7;
export const VERSION = 1;
export const HEADER = 16;
export const DEFAULT_MAX_FRAME = 1 << 20;

export const Kind = {
  CALL: 1,
  REPLY: 2,
  ERROR: 3,
  RESOLVE: 4,
  FETCH_BUNDLE: 5,
  REGION_READ: 6,
  REGION_WRITE: 7,
  REGION_ATOMIC: 8,
  STATS: 9,
} as const;
export type KindCode = (typeof Kind)[keyof typeof Kind];

/** Places on the wire. AUTO lets the receiver steer. */
export const Place = { AUTO: 0, CLIENT: 1, DPU: 2, HOST: 3 } as const;
export type PlaceName = 'auto' | 'client' | 'dpu' | 'host';
export const PLACE_NAMES: PlaceName[] = ['auto', 'client', 'dpu', 'host'];
export const placeCode = (p: PlaceName): number => PLACE_NAMES.indexOf(p);

/** Atomic operation codes in REGION_ATOMIC payloads. */
export const AtomicOp = { LOAD_U32: 1, STORE_U32: 2, CAS_U32: 3, ADD_U32: 4, CAS_U64: 5, ADD_U64: 6 } as const;

export interface Frame {
  kind: number;
  place: number;
  flags: number;
  id: number;
  bundle: number;
  code: number;
  payload: Uint8Array;
}

/** Encodes one frame into `out` at `at` (caller sized it); returns the new offset. */
export function writeFrame(out: Uint8Array, at: number, f: Omit<Frame, 'payload'>, payload: Uint8Array): number {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  dv.setUint8(at, MAGIC);
  dv.setUint8(at + 1, VERSION);
  dv.setUint8(at + 2, f.kind);
  dv.setUint8(at + 3, (f.place & 0x0f) | ((f.flags & 0x0f) << 4));
  dv.setUint32(at + 4, f.id >>> 0, true);
  dv.setUint16(at + 8, f.bundle, true);
  dv.setUint16(at + 10, f.code, true);
  dv.setUint32(at + 12, payload.length, true);
  out.set(payload, at + HEADER);
  return at + HEADER + payload.length;
}

export function encodeFrame(f: Omit<Frame, 'payload'>, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER + payload.length);
  writeFrame(out, 0, f, payload);
  return out;
}

/** Error payload: UTF-8 "CODE message". */
export function errorPayload(code: string, message: string): Uint8Array {
  return Buffer.from(`${code} ${message}`, 'utf8');
}
export function parseError(p: Uint8Array): { code: string; message: string } {
  const s = Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('utf8');
  const sp = s.indexOf(' ');
  return sp < 0 ? { code: s, message: s } : { code: s.slice(0, sp), message: s.slice(sp + 1) };
}
