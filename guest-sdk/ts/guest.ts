// roam guest SDK for TypeScript (QuickJS target): `import { handler, log, regionRead } from "roam/guest";`
// Mirrors the AssemblyScript SDK (guest-sdk/assembly): input/reply bytes, fail(), log, clock, regions with
// atomics, HTTP-like Request/Response for functions, streamed bodies. Synchronous only: the engine runs
// one message to completion (no async, Promise, timers or eval; `roam build` refuses them).

/** The host functions the engine installs (only those of declared capabilities). */
interface Host {
  log?(level: number, message: string): void;
  now?(): number;
  epoch?(): number;
  read?(region: number, offset: number, len: number): ArrayBuffer;
  write?(region: number, offset: number, bytes: ArrayBuffer): void;
  ld32?(region: number, offset: number): number;
  st32?(region: number, offset: number, value: number): void;
  cas32?(region: number, offset: number, expected: number, desired: number): number;
  add32?(region: number, offset: number, delta: number): number;
  cas64?(region: number, offset: number, expected: string, desired: string): string;
  add64?(region: number, offset: number, delta: string): string;
  bread?(offset: number, len: number): ArrayBuffer;
  bwrite?(bytes: ArrayBuffer): number;
}
declare const __roam_host: Host;

function host<K extends keyof Host>(name: K, capability: string): NonNullable<Host[K]> {
  const f = __roam_host[name];
  if (f === undefined) throw new Error(`capability '${capability}' is not declared in roam.json`);
  return f as NonNullable<Host[K]>;
}

// ---- bytes and text ----

/** UTF-8 encoding (QuickJS has no TextEncoder). */
export function utf8(s: string): Uint8Array {
  const n = s.length;
  let ascii = true;
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) { ascii = false; break; }
  if (ascii) {
    const a = new Uint8Array(n);
    for (let i = 0; i < n; i++) a[i] = s.charCodeAt(i);
    return a;
  }
  const out = new Uint8Array(s.length * 3);
  let p = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) out[p++] = c;
    else if (c < 0x800) {
      out[p++] = 0xc0 | (c >> 6);
      out[p++] = 0x80 | (c & 63);
    } else if (c < 0x10000) {
      out[p++] = 0xe0 | (c >> 12);
      out[p++] = 0x80 | ((c >> 6) & 63);
      out[p++] = 0x80 | (c & 63);
    } else {
      out[p++] = 0xf0 | (c >> 18);
      out[p++] = 0x80 | ((c >> 12) & 63);
      out[p++] = 0x80 | ((c >> 6) & 63);
      out[p++] = 0x80 | (c & 63);
    }
  }
  return out.subarray(0, p);
}

/** UTF-8 decoding of bytes[from, to) (malformed sequences become U+FFFD). */
export function text(bytes: Uint8Array, from = 0, to = bytes.length): string {
  let ascii = true;
  for (let i = from; i < to; i++) if (bytes[i]! > 0x7f) { ascii = false; break; }
  if (ascii) {
    if (to - from > 64) return String.fromCharCode.apply(null, bytes.subarray(from, to) as unknown as number[]);
    let a = '';
    for (let i = from; i < to; i++) a += String.fromCharCode(bytes[i]!);
    return a;
  }
  let s = '';
  let i = from;
  while (i < to) {
    const c = bytes[i++]!;
    let cp = 0xfffd;
    if (c < 0x80) cp = c;
    else if (c >= 0xc0 && c < 0xe0 && i < to) cp = ((c & 31) << 6) | (bytes[i++]! & 63);
    else if (c >= 0xe0 && c < 0xf0 && i + 1 < to) {
      cp = ((c & 15) << 12) | ((bytes[i]! & 63) << 6) | (bytes[i + 1]! & 63);
      i += 2;
    } else if (c >= 0xf0 && i + 2 < to) {
      cp = ((c & 7) << 18) | ((bytes[i]! & 63) << 12) | ((bytes[i + 1]! & 63) << 6) | (bytes[i + 2]! & 63);
      i += 3;
    }
    s += String.fromCodePoint(cp);
  }
  return s;
}

const toBuffer = (b: Uint8Array): ArrayBuffer => (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? (b.buffer as ArrayBuffer) : (b.slice().buffer as ArrayBuffer));

// ---- failures ----

/** What `fail()` throws: the host reports it as the AS SDK's fail() (E_HANDLER with this code). */
export class Failure extends Error {
  readonly __roamFail = true;
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** Fails this message with an application code (1..65535; a function's 4xx/5xx becomes its HTTP status). */
export function fail(code: number, message: string): never {
  throw new Failure(Math.max(1, Math.min(65535, code | 0)), message);
}

// ---- log and clock ----

/** Log levels: `log(msg, Level.Warn)`. */
export const Level = { Debug: 0, Info: 1, Warn: 2, Error: 3 } as const;
export type Level = (typeof Level)[keyof typeof Level];

export function log(message: string, level: Level = Level.Info): void {
  host('log', 'log')(level, message);
}
/** Monotonic milliseconds (sub-millisecond resolution). */
export function nowMs(): number {
  return host('now', 'clock')();
}
/** Wall-clock milliseconds since the Unix epoch. */
export function epochMs(): number {
  return host('epoch', 'clock')();
}

// ---- regions (index = position in roam.json's "regions") ----

/** Copies `len` bytes at `offset` of the region (a one-sided read). */
export function regionRead(region: number, offset: number, len: number): Uint8Array {
  return new Uint8Array(host('read', 'regions')(region, offset, len));
}
/** Copies `data` into the region at `offset`. */
export function regionWrite(region: number, offset: number, data: Uint8Array): void {
  host('write', 'regions')(region, offset, toBuffer(data));
}
/** Atomic loads/stores and read-modify-writes; offsets aligned to the width; they return the old value. */
export function loadU32(region: number, offset: number): number {
  return host('ld32', 'regions')(region, offset);
}
export function storeU32(region: number, offset: number, value: number): void {
  host('st32', 'regions')(region, offset, value >>> 0);
}
export function casU32(region: number, offset: number, expected: number, desired: number): number {
  return host('cas32', 'regions')(region, offset, expected >>> 0, desired >>> 0);
}
export function fetchAddU32(region: number, offset: number, delta: number): number {
  return host('add32', 'regions')(region, offset, delta >>> 0);
}
export function casU64(region: number, offset: number, expected: bigint, desired: bigint): bigint {
  return BigInt(host('cas64', 'regions')(region, offset, BigInt.asUintN(64, expected).toString(), BigInt.asUintN(64, desired).toString()));
}
export function fetchAddU64(region: number, offset: number, delta: bigint): bigint {
  return BigInt(host('add64', 'regions')(region, offset, BigInt.asUintN(64, delta).toString()));
}

// ---- functions: HTTP-like requests and responses (format in guest-sdk/README.md) ----

export class Header {
  constructor(public name: string, public value: string) {}
}

const u16 = (b: Uint8Array, p: number): number => b[p]! | (b[p + 1]! << 8);
const u32 = (b: Uint8Array, p: number): number => (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;

/** A request read in place from the function's input: method, path and headers are decoded on first use. */
export class Request {
  /** The body's length (also when it is streamed and not in `body`). */
  bodyLength = 0;
  /** True when the bundle declares `body` and the body stays with the host: read it with BodyReader. */
  streamed = false;
  private m: string | null = null;
  private pa: string | null = null;
  private hs: Header[] | null = null;
  private b: Uint8Array;
  /** @internal */ constructor(private readonly raw: Uint8Array, private readonly pAt: number, private readonly hAt: number, private readonly hCount: number, bodyAt: number) {
    this.bodyLength = u32(raw, bodyAt - 4);
    if (bodyAt === raw.length && this.bodyLength > 0) {
      this.streamed = true;
      this.b = new Uint8Array(0);
    } else this.b = raw.subarray(bodyAt, bodyAt + this.bodyLength);
  }
  get method(): string {
    return (this.m ??= text(this.raw, 2, 2 + u16(this.raw, 0)));
  }
  /** The path after the function or chain name, with the query. */
  get path(): string {
    return (this.pa ??= text(this.raw, this.pAt + 2, this.pAt + 2 + u16(this.raw, this.pAt)));
  }
  get headers(): Header[] {
    if (this.hs === null) {
      const r = this.raw;
      const hs: Header[] = [];
      let p = this.hAt;
      for (let i = 0; i < this.hCount; i++) {
        const nl = u16(r, p);
        const name = text(r, p + 2, p + 2 + nl);
        p += 2 + nl;
        const vl = u32(r, p);
        hs.push(new Header(name, text(r, p + 4, p + 4 + vl)));
        p += 4 + vl;
      }
      this.hs = hs;
    }
    return this.hs;
  }
  /** The first header named `name` (case-insensitive), or null. */
  header(name: string): string | null {
    const n = name.toLowerCase();
    for (const h of this.headers) if (h.name.toLowerCase() === n) return h.value;
    return null;
  }
  /** The whole body (a streamed body is pulled from the host on first use). */
  get body(): Uint8Array {
    if (this.streamed) {
      const r = new BodyReader(this, Math.max(this.bodyLength, 1));
      const out = new Uint8Array(this.bodyLength);
      let at = 0;
      for (let n = r.next(); n > 0; n = r.next()) {
        out.set(r.chunk.subarray(0, n), at);
        at += n;
      }
      this.b = out;
      this.streamed = false;
    }
    return this.b;
  }
  text(): string {
    return text(this.body);
  }
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }
}

/** Reads the encoded request (u16 len, method | u16 len, path | u16 count, {u16, name | u32, value} | u32 len, body). */
export function decodeRequest(b: Uint8Array): Request {
  const pAt = 2 + u16(b, 0);
  const hAt = pAt + 2 + u16(b, pAt) + 2;
  const count = u16(b, hAt - 2);
  let p = hAt;
  for (let i = 0; i < count; i++) {
    p += 2 + u16(b, p);
    p += 4 + u32(b, p);
  }
  if (p + 4 > b.length) throw new Error('not a valid request encoding');
  return new Request(b, pAt, hAt, count, p + 4);
}

export class Response {
  headers: Header[] = [];
  /** A text body, written straight into the reply by the encoder (no intermediate bytes). */
  private t: string | null = null;
  private b: Uint8Array | null = null;
  constructor(public status = 200, body: Uint8Array | string = EMPTY_BYTES) {
    if (typeof body === 'string') this.t = body;
    else this.b = body;
  }
  get body(): Uint8Array {
    return (this.b ??= utf8(this.t ?? ''));
  }
  set body(b: Uint8Array) {
    this.b = b;
    this.t = null;
  }
  /** @internal The text body when it is still a string. */
  textBody(): string | null {
    return this.b === null ? this.t : null;
  }
  static text(status: number, body: string, contentType = 'text/plain; charset=utf-8'): Response {
    return new Response(status, body).setHeader('content-type', contentType);
  }
  static json(status: number, value: unknown): Response {
    return new Response(status, JSON.stringify(value)).setHeader('content-type', 'application/json');
  }
  setHeader(name: string, value: string): Response {
    this.headers.push(new Header(name, value));
    return this;
  }
}
const EMPTY_BYTES = new Uint8Array(0);

/** True when s has a character past ASCII (then its UTF-8 is encoded first). */
function nonAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return true;
  return false;
}

/** Writes s (as UTF-8) at p after its length field (2 or 4 bytes); returns the end. */
function putStr(out: Uint8Array, p: number, s: string, lenBytes: 2 | 4, enc: Uint8Array | null): number {
  const n = enc === null ? s.length : enc.length;
  if (lenBytes === 2) put16(out, p, n);
  else put32(out, p, n);
  p += lenBytes;
  if (enc !== null) out.set(enc, p);
  else for (let i = 0; i < n; i++) out[p + i] = s.charCodeAt(i);
  return p + n;
}

/** Encoded header strings (names and the usual values repeat on every call): string → its field bytes. */
const nameCache = new Map<string, Uint8Array>();
const valueCache = new Map<string, Uint8Array>();
function field(s: string, lenBytes: 2 | 4): Uint8Array {
  const cache = lenBytes === 2 ? nameCache : valueCache;
  let f = cache.get(s);
  if (f === undefined) {
    const enc = nonAscii(s) ? utf8(s) : null;
    const n = enc === null ? s.length : enc.length;
    f = new Uint8Array(lenBytes + n);
    putStr(f, 0, s, lenBytes, enc);
    if (cache.size < 256 && s.length <= 256) cache.set(s, f);
  }
  return f;
}

/** Encodes a response (u16 status | u16 count, {u16, name | u32, value} | u32 len, body) in one buffer. */
export function encodeResponse(res: Response): ArrayBuffer {
  const hs = res.headers;
  const hn = hs.length;
  const fields: Uint8Array[] = [];
  let size = 8;
  for (let i = 0; i < hn; i++) {
    const n = field(hs[i]!.name, 2);
    const v = field(hs[i]!.value, 4);
    fields.push(n, v);
    size += n.length + v.length;
  }
  // An ASCII text body (the usual) is measured by .length and copied char by char; others are encoded first.
  const t = res.textBody();
  const tEnc = t !== null && nonAscii(t) ? utf8(t) : null;
  const body = t === null ? res.body : null;
  size += body !== null ? body.length : tEnc !== null ? tEnc.length : t!.length;
  const out = new Uint8Array(size);
  put16(out, 0, res.status);
  put16(out, 2, hn);
  let p = 4;
  for (let i = 0; i < fields.length; i++) {
    out.set(fields[i]!, p);
    p += fields[i]!.length;
  }
  if (body !== null) {
    put32(out, p, body.length);
    out.set(body, p + 4);
  } else putStr(out, p, t!, 4, tEnc);
  return out.buffer as ArrayBuffer;
}
const put16 = (b: Uint8Array, p: number, v: number) => {
  b[p] = v & 0xff;
  b[p + 1] = (v >>> 8) & 0xff;
};
const put32 = (b: Uint8Array, p: number, v: number) => {
  put16(b, p, v & 0xffff);
  put16(b, p + 2, v >>> 16);
};

// ---- streamed bodies (capability `body`) ----

/** Reads the request body in chunks: `for (let n = r.next(); n > 0; n = r.next()) use(r.chunk, n)`. */
export class BodyReader {
  offset = 0;
  chunk: Uint8Array;
  constructor(private readonly req: Request, chunkSize = 64 * 1024) {
    this.chunk = new Uint8Array(chunkSize);
  }
  /** Fills `chunk` with the next bytes; returns how many (0 at the end of the body). */
  next(): number {
    if (!this.req.streamed) {
      const b = this.req.body;
      const n = Math.min(this.chunk.length, b.length - this.offset);
      if (n <= 0) return 0;
      this.chunk.set(b.subarray(this.offset, this.offset + n));
      this.offset += n;
      return n;
    }
    const got = new Uint8Array(host('bread', 'body')(this.offset, this.chunk.length));
    this.chunk.set(got);
    this.offset += got.length;
    return got.length;
  }
}

/** Appends bytes to the reply body; returns its length so far. Then return a Response without a body. */
export function writeBody(bytes: Uint8Array | string): number {
  return host('bwrite', 'body')(toBuffer(typeof bytes === 'string' ? utf8(bytes) : bytes));
}

// ---- entry points ----

/** A message handler: the message's bytes in, the reply out (bytes, a string sent as UTF-8, or nothing). */
export type Handler = (input: Uint8Array) => Uint8Array | string | void;
/** A function: a request in, a response out. */
export type Fn = (req: Request) => Response;

/** Declares a message handler (checks its signature at build time): `export const get = handler((input) => …)`. */
export const handler = (f: Handler): Handler => f;
/** Declares a function: `export const greet = fn((req) => Response.text(200, "hi"))`. */
export const fn = (f: Fn): Fn => f;

const EMPTY = new ArrayBuffer(0);

/** @internal Installed by the build's entry: resolves entries for the host and explains failures. */
export function __install(exports: Record<string, unknown>): void {
  const g = globalThis as Record<string, unknown>;
  g.__roam_entry = (kind: number, name: string) => {
    const f = exports[name];
    if (typeof f !== 'function') throw new Error(`the bundle's code exports no function '${name}'`);
    if (kind === 0) {
      const h = f as Handler;
      return (buf: ArrayBuffer): ArrayBuffer => {
        const r = h(new Uint8Array(buf));
        if (r === undefined || r === null) return EMPTY;
        return toBuffer(typeof r === 'string' ? utf8(r) : r);
      };
    }
    const fx = f as Fn;
    return (buf: ArrayBuffer): ArrayBuffer => encodeResponse(fx(decodeRequest(new Uint8Array(buf))));
  };
  g.__roam_err = (e: unknown): string => {
    if (e instanceof Failure) return `${e.code}\n${e.message}`;
    if (e instanceof Error) {
      const at = (e.stack ?? '').split('\n').find((l) => l.trim().startsWith('at '));
      return `0\n${e.name}: ${e.message}${at ? ` (${at.trim()})` : ''}`;
    }
    return `0\n${String(e)}`;
  };
}
