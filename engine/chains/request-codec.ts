/**
 * Writes a function request (the encoding of engine/runtime/http-abi.ts) straight into a target buffer,
 * so a hop's input is encoded once, in place in the payload pool, instead of built and then copied.
 */
import type { FnRequest } from '../runtime/http-abi.ts';

export type RequestHead = Omit<FnRequest, 'body'>;

const enc = new TextEncoder();

interface EncodedHead {
  method: Uint8Array;
  path: Uint8Array;
  headers: Array<[Uint8Array, Uint8Array]>;
  size: number;
}

export function encodeHead(head: RequestHead): EncodedHead {
  const method = enc.encode(head.method);
  const path = enc.encode(head.path);
  const headers = head.headers.map(([n, v]) => [enc.encode(n), enc.encode(v)] as [Uint8Array, Uint8Array]);
  const size = 2 + method.length + 2 + path.length + 2 + headers.reduce((s, [n, v]) => s + 6 + n.length + v.length, 0) + 4;
  return { method, path, headers, size };
}

/** Bytes the encoded request takes. */
export const requestSize = (h: EncodedHead, bodyLength: number): number => h.size + bodyLength;

/** Writes head and the body length at `at`; returns where the body goes. The caller writes the body there. */
export function writeHead(h: EncodedHead, bodyLength: number, out: Uint8Array, at: number): number {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let p = at;
  const bytes = (b: Uint8Array) => {
    out.set(b, p);
    p += b.length;
  };
  dv.setUint16(p, h.method.length, true); p += 2; bytes(h.method);
  dv.setUint16(p, h.path.length, true); p += 2; bytes(h.path);
  dv.setUint16(p, h.headers.length, true); p += 2;
  for (const [n, v] of h.headers) {
    dv.setUint16(p, n.length, true); p += 2; bytes(n);
    dv.setUint32(p, v.length, true); p += 4; bytes(v);
  }
  dv.setUint32(p, bodyLength, true); p += 4;
  return p;
}
