/**
 * Encoding of function requests and responses across the guest boundary (little-endian):
 *   request  = u16 len, method | u16 len, path | u16 count, { u16 len, name | u32 len, value } | u32 len, body
 *   response = u16 status | u16 count, { u16 len, name | u32 len, value } | u32 len, body
 */
import { RoamError } from '../errors.ts';

export interface FnRequest {
  method: string;
  path: string;
  headers: Array<[string, string]>;
  body: Uint8Array;
}
export interface FnResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

export function encodeRequest(req: FnRequest): Uint8Array {
  const method = Buffer.from(req.method);
  const path = Buffer.from(req.path);
  const hs = req.headers.map(([n, v]) => [Buffer.from(n), Buffer.from(v)] as const);
  const size = 2 + method.length + 2 + path.length + 2 + hs.reduce((s, [n, v]) => s + 6 + n.length + v.length, 0) + 4 + req.body.length;
  const out = Buffer.allocUnsafe(size);
  let p = out.writeUInt16LE(method.length, 0);
  p += method.copy(out, p);
  p = out.writeUInt16LE(path.length, p);
  p += path.copy(out, p);
  p = out.writeUInt16LE(hs.length, p);
  for (const [n, v] of hs) {
    p = out.writeUInt16LE(n.length, p);
    p += n.copy(out, p);
    p = out.writeUInt32LE(v.length, p);
    p += v.copy(out, p);
  }
  p = out.writeUInt32LE(req.body.length, p);
  out.set(req.body, p);
  return out;
}

export function decodeResponse(bytes: Uint8Array): FnResponse {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    const status = b.readUInt16LE(0);
    const count = b.readUInt16LE(2);
    let p = 4;
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < count; i++) {
      const nl = b.readUInt16LE(p);
      const name = b.toString('utf8', p + 2, p + 2 + nl);
      p += 2 + nl;
      const vl = b.readUInt32LE(p);
      headers.push([name, b.toString('utf8', p + 4, p + 4 + vl)]);
      p += 4 + vl;
    }
    const bl = b.readUInt32LE(p);
    if (p + 4 + bl > b.length) throw new RangeError('body runs past the reply');
    return { status, headers, body: bytes.subarray(p + 4, p + 4 + bl) };
  } catch (e) {
    throw new RoamError('E_ABI', `function reply is not a valid response encoding: ${(e as Error).message}`);
  }
}
