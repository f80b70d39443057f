/**
 * Encoding of function requests and responses across the guest boundary (little-endian):
 *   request  = u16 len, method | u16 len, path | u16 count, { u16 len, name | u32 len, value } | u32 len, body
 *   response = u16 status | u16 count, { u16 len, name | u32 len, value } | u32 len, body
 * The one codec of the engine: the gateway writes entry requests with it, the chain runner builds hop
 * requests with `RequestWriter` (bytes in, bytes out: no strings on the hop path), the CLI and tests
 * use `encodeRequest`/`decodeResponse`.
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

/** Appends encoded requests into one reusable buffer (grown on demand, never shrunk). */
export class RequestWriter {
  buf = new Uint8Array(4096);
  private dv = new DataView(this.buf.buffer);
  private p = 0;
  private countAt = 0;
  private count = 0;

  private ensure(n: number): void {
    if (this.p + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.p + n));
    next.set(this.buf.subarray(0, this.p));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }

  /** Starts a request: `prefix` is the encoded method and path (see `encodePrefix`). */
  begin(prefix: Uint8Array): this {
    this.p = 0;
    this.ensure(prefix.length + 2);
    this.buf.set(prefix, 0);
    this.p = prefix.length;
    this.countAt = this.p;
    this.count = 0;
    this.p += 2;
    return this;
  }

  /** Copies already-encoded header entries (`n` of them) as they are. */
  raw(entries: Uint8Array, n: number): this {
    this.ensure(entries.length);
    this.buf.set(entries, this.p);
    this.p += entries.length;
    this.count += n;
    return this;
  }

  header(name: Uint8Array, value: Uint8Array): this {
    this.ensure(6 + name.length + value.length);
    this.dv.setUint16(this.p, name.length, true);
    this.buf.set(name, this.p + 2);
    this.p += 2 + name.length;
    this.dv.setUint32(this.p, value.length, true);
    this.buf.set(value, this.p + 4);
    this.p += 4 + value.length;
    this.count++;
    return this;
  }

  /**
   * Finishes the head only: writes the body length, not the body, and returns the head (a view valid
   * until the next `begin`). The body is handed to the callee separately (`GuestInstance.call`), so a
   * hop's body is never copied into this buffer.
   */
  head(bodyLength: number): Uint8Array {
    this.ensure(4);
    this.dv.setUint16(this.countAt, this.count, true);
    this.dv.setUint32(this.p, bodyLength, true);
    return this.buf.subarray(0, this.p + 4);
  }

  /** Finishes with the body; returns the encoded request, a view valid until the next `begin`. */
  end(body: Uint8Array): Uint8Array {
    this.ensure(4 + body.length);
    this.dv.setUint16(this.countAt, this.count, true);
    this.dv.setUint32(this.p, body.length, true);
    this.buf.set(body, this.p + 4);
    this.p += 4 + body.length;
    return this.buf.subarray(0, this.p);
  }
}

const enc = new TextEncoder();
const u16 = (n: number) => [n & 0xff, n >>> 8];

/** Encoded method and path: the start of every request of a chain, encoded once. */
export function encodePrefix(method: string, path: string): Uint8Array {
  const m = enc.encode(method);
  const p = enc.encode(path);
  const out = new Uint8Array(4 + m.length + p.length);
  out.set(u16(m.length), 0);
  out.set(m, 2);
  out.set(u16(p.length), 2 + m.length);
  out.set(p, 4 + m.length);
  return out;
}

export function encodeRequest(req: FnRequest): Uint8Array {
  const w = new RequestWriter().begin(encodePrefix(req.method, req.path));
  for (const [n, v] of req.headers) w.header(enc.encode(n), enc.encode(v));
  return w.end(req.body).slice();
}

/**
 * Size of a request's head (everything before the body, its length field included) built from Node's raw
 * header list (name, value, name, value…) less the names in `skip` (lower-case). Node hands header bytes
 * over as latin1 strings, so they are written back as the same bytes.
 */
export function requestHeadSize(method: string, path: string, raw: string[], skip: ReadonlySet<string>): number {
  let size = 4 + method.length + Buffer.byteLength(path, 'latin1') + 2 + 4;
  for (let i = 0; i < raw.length; i += 2) if (!skip.has(raw[i]!.toLowerCase())) size += 6 + raw[i]!.length + raw[i + 1]!.length;
  return size;
}

/** Writes that head into `out` at 0 (`requestHeadSize` bytes); the body goes right after it. */
export function writeRequestHead(out: Buffer, method: string, path: string, raw: string[], skip: ReadonlySet<string>, bodyLength: number): number {
  let p = out.writeUInt16LE(method.length, 0);
  p += out.write(method, p, 'latin1');
  p = out.writeUInt16LE(Buffer.byteLength(path, 'latin1'), p);
  p += out.write(path, p, 'latin1');
  const countAt = p;
  let count = 0;
  p += 2;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!.toLowerCase();
    if (skip.has(n)) continue;
    p = out.writeUInt16LE(n.length, p);
    p += out.write(n, p, 'latin1');
    p = out.writeUInt32LE(raw[i + 1]!.length, p);
    p += out.write(raw[i + 1]!, p, 'latin1');
    count++;
  }
  out.writeUInt16LE(count, countAt);
  return out.writeUInt32LE(bodyLength, p);
}

export const u16at = (b: Uint8Array, p: number): number => b[p]! | (b[p + 1]! << 8);
export const u32at = (b: Uint8Array, p: number): number => (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;

/** Lower-cases ASCII letters while comparing a header name in place with a lower-case constant. */
function nameIs(b: Uint8Array, at: number, len: number, name: Uint8Array): boolean {
  if (len !== name.length) return false;
  for (let i = 0; i < len; i++) {
    const c = b[at + i]!;
    if ((c >= 65 && c <= 90 ? c | 0x20 : c) !== name[i]) return false;
  }
  return true;
}

/** Where a header's value lies in the bytes it was found in (`at` -1 when absent). */
export interface Span {
  at: number;
  len: number;
}

/** What the chain runner needs from a reply, found in place: no header is decoded into a string. */
export interface ResponseScan {
  status: number;
  bodyAt: number;
  bodyLen: number;
  /** Values of the looked-for headers, in the order of the names passed to `scanResponse`. */
  found: Span[];
}

/** Scans a response for `names` (lower-case, encoded); throws E_ABI on a malformed reply. */
export function scanResponse(b: Uint8Array, names: readonly Uint8Array[], out: ResponseScan): ResponseScan {
  const n = b.length;
  for (const s of out.found) s.at = -1;
  if (n < 8) throw abi('reply shorter than a response head');
  out.status = u16at(b, 0);
  const count = u16at(b, 2);
  let p = 4;
  for (let i = 0; i < count; i++) {
    if (p + 2 > n) throw abi('header runs past the reply');
    const nl = u16at(b, p);
    const nameAt = p + 2;
    p = nameAt + nl;
    if (p + 4 > n) throw abi('header runs past the reply');
    const vl = u32at(b, p);
    p += 4;
    if (p + vl > n) throw abi('header value runs past the reply');
    for (let k = 0; k < names.length; k++) {
      if (out.found[k]!.at < 0 && nameIs(b, nameAt, nl, names[k]!)) {
        out.found[k]!.at = p;
        out.found[k]!.len = vl;
      }
    }
    p += vl;
  }
  if (p + 4 > n) throw abi('body length runs past the reply');
  out.bodyLen = u32at(b, p);
  out.bodyAt = p + 4;
  if (out.bodyAt + out.bodyLen > n) throw abi('body runs past the reply');
  return out;
}

/**
 * Where the body of an encoded request starts (just after its u32 length field); throws E_ABI when the
 * head or the body runs past `b`. Reads lengths only: nothing is decoded.
 */
export function requestBodyAt(b: Uint8Array): number {
  const n = b.length;
  let p = 0;
  if (n < 10) throw new RoamError('E_ABI', 'not a valid request encoding: shorter than a request head');
  p = 2 + u16at(b, 0);
  if (p + 2 > n) throw new RoamError('E_ABI', 'not a valid request encoding: method runs past the request');
  p += 2 + u16at(b, p);
  if (p + 2 > n) throw new RoamError('E_ABI', 'not a valid request encoding: path runs past the request');
  const count = u16at(b, p);
  p += 2;
  for (let i = 0; i < count; i++) {
    if (p + 2 > n) break;
    p += 2 + u16at(b, p);
    if (p + 4 > n) break;
    p += 4 + u32at(b, p);
  }
  if (p + 4 > n || p + 4 + u32at(b, p) > n) throw new RoamError('E_ABI', 'not a valid request encoding: body runs past the request');
  return p + 4;
}

const abi = (why: string) => new RoamError('E_ABI', `function reply is not a valid response encoding: ${why}`);

/** Reads an encoded request (the body is a view into `bytes`). */
export function decodeRequest(bytes: Uint8Array): FnRequest {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    let p = 0;
    const text = (n: number) => b.toString('utf8', p, (p += n));
    const method = text(b.readUInt16LE((p += 2) - 2));
    const path = text(b.readUInt16LE((p += 2) - 2));
    const count = b.readUInt16LE(p);
    p += 2;
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < count; i++) {
      const name = text(b.readUInt16LE((p += 2) - 2));
      headers.push([name, text(b.readUInt32LE((p += 4) - 4))]);
    }
    const bl = b.readUInt32LE(p);
    if (p + 4 + bl > b.length) throw new RangeError('body runs past the request');
    return { method, path, headers, body: bytes.subarray(p + 4, p + 4 + bl) };
  } catch (e) {
    throw new RoamError('E_ABI', `not a valid request encoding: ${(e as Error).message}`);
  }
}

export function encodeResponse(res: FnResponse): Uint8Array {
  const hs = res.headers.map(([n, v]) => [enc.encode(n), enc.encode(v)] as const);
  const out = Buffer.allocUnsafe(8 + hs.reduce((s, [n, v]) => s + 6 + n.length + v.length, 0) + res.body.length);
  let p = out.writeUInt16LE(res.status, 0);
  p = out.writeUInt16LE(hs.length, p);
  for (const [n, v] of hs) {
    p = out.writeUInt16LE(n.length, p);
    out.set(n, p);
    p = out.writeUInt32LE(v.length, p + n.length);
    out.set(v, p);
    p += v.length;
  }
  p = out.writeUInt32LE(res.body.length, p);
  out.set(res.body, p);
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
    throw abi((e as Error).message);
  }
}
