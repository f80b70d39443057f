/**
 * Reading request bodies with a size cap: 413 as soon as the cap is passed (or at once when the declared
 * length is over it), never after buffering it all.
 */
import type { IncomingMessage } from 'node:http';
import type { Descriptor, PayloadPool } from '../chains/payload-pool.ts';
import { RoamError } from '../errors.ts';
import { requestHeadSize, writeRequestHead } from '../runtime/http-abi.ts';

export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) return Promise.reject(tooLarge(declared, max));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners('data');
        reject(tooLarge(size, max));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

/** Headers that stay at the gateway. */
const NOT_FORWARDED = new Set(['authorization', 'host', 'connection']);

/**
 * True when the request has no body: neither a content-length above 0 nor a transfer-encoding (HTTP/1.1
 * gives such a request none, RFC 9112 §6.3), so it can be encoded at once, before Node's 'end'.
 */
export function hasNoBody(req: IncomingMessage): boolean {
  // From the raw list: `req.headers` is built on first use (the bare server of bench:http never builds it).
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === 17 && n.toLowerCase() === 'transfer-encoding') return false;
    if (n.length === 14 && n.toLowerCase() === 'content-length' && raw[i + 1]!.trim() !== '0') return false;
  }
  return true;
}

/**
 * A request without a body in its encoded form, written at once (no listener, no promise): in a
 * payload-pool slot when one is free, else in shared memory of the exact size.
 */
export function encodeBodiless(req: IncomingMessage, pool: PayloadPool, method: string, path: string): Descriptor | Uint8Array {
  const size = requestHeadSize(method, path, req.rawHeaders, NOT_FORWARDED);
  const d = pool.alloc(size);
  const out = target(pool, d, size);
  writeRequestHead(out, method, path, req.rawHeaders, NOT_FORWARDED, 0);
  return d ?? new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** Where an encoded request of `size` bytes goes: the slot `d`, or shared memory when there is none. */
function target(pool: PayloadPool, d: Descriptor | null, size: number): Buffer {
  return d ? Buffer.from(pool.u8.buffer, pool.u8.byteOffset + d.offset, size) : Buffer.from(new SharedArrayBuffer(size));
}

/**
 * Reads an invocation straight into its encoded form: the head is written first, then each body chunk is
 * copied once, as it arrives, to its final place: a payload-pool slot when it fits, else a
 * SharedArrayBuffer of the exact size (posting it to a worker shares it, nothing is copied again). With
 * no declared length (chunked), chunks are kept until the end and copied once into the exact-size target.
 */
export function readRequest(req: IncomingMessage, pool: PayloadPool, method: string, path: string, max: number): Promise<Descriptor | Uint8Array> {
  const declared = req.headers['content-length'] === undefined ? NaN : Number(req.headers['content-length']);
  if (declared > max) return Promise.reject(tooLarge(declared, max));
  const head = requestHeadSize(method, path, req.rawHeaders, NOT_FORWARDED);
  let d: Descriptor | null = null;
  let out: Buffer | null = null;
  let at = 0;
  const open = (bodyLength: number) => {
    const size = head + bodyLength;
    d = pool.alloc(size);
    out = target(pool, d, size);
    at = writeRequestHead(out, method, path, req.rawHeaders, NOT_FORWARDED, bodyLength);
  };
  if (Number.isFinite(declared)) open(declared);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (e: Error) => {
      if (done) return;
      done = true;
      if (d) pool.free(d);
      req.removeAllListeners('data');
      req.resume();
      reject(e);
    };
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) return fail(tooLarge(size, max));
      if (!out) return void chunks.push(c);
      if (at + c.length > out.length) return fail(new RoamError('E_BAD_REQUEST', 'request body is longer than its content-length'));
      out.set(c, at);
      at += c.length;
    });
    req.on('end', () => {
      if (done) return;
      if (!out) {
        open(size);
        for (const c of chunks) {
          out!.set(c, at);
          at += c.length;
        }
      }
      if (at !== out!.length) return fail(new RoamError('E_BAD_REQUEST', `request body ended after ${size} of ${declared} bytes`));
      done = true;
      resolve(d ?? new Uint8Array(out!.buffer, out!.byteOffset, out!.length));
    });
    req.on('error', fail);
    // 'close' comes after every request, read or not: build the error (a stack trace) only when it is one.
    req.on('close', () => done || fail(new RoamError('E_BAD_REQUEST', 'client went away before the request body was read')));
  });
}

const tooLarge = (n: number, max: number) => new RoamError('E_TOO_LARGE', `request body of ${n} bytes is over the ${max}-byte limit`);
