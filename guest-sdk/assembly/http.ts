// Functions: an encoded HTTP-like request in, an encoded response out (format in guest-sdk/README.md).
import { inputPtr, output } from "./io";

/**
 * How a streamed body is pulled (roam:body.read), set by "roam/body" when a bundle imports it. Kept as a
 * function reference so that this module never names the import itself: a bundle that does not declare
 * the `body` capability must not import it.
 */
let pullBody: ((offset: i32, ptr: usize, len: i32) => i32) | null = null;

/** @internal Called by "roam/body" at start. */
export function setBodyPull(f: (offset: i32, ptr: usize, len: i32) => i32): void {
  pullBody = f;
}

export class Header {
  constructor(public name: string, public value: string) {}
}

/** A request read in place from the input buffer: headers and body are decoded or copied only when asked for. */
export class Request {
  /** @internal */ mAt: usize = 0;
  /** @internal */ mLen: i32 = 0;
  /** @internal */ pAt: usize = 0;
  /** @internal */ pLen: i32 = 0;
  private m: string | null = null;
  private pa: string | null = null;
  /** @internal */ hAt: usize = 0;
  /** @internal */ hCount: i32 = 0;
  /** @internal */ bAt: usize = 0;
  /** @internal */ bLen: i32 = 0;
  /** The body is not in the input: the bundle declares `body` and reads it with "roam/body". */
  streamed: bool = false;
  private hs: Header[] | null = null;
  private copied: Uint8Array | null = null;

  /** The method (decoded on first use: a chain hop that never looks at it allocates nothing for it). */
  get method(): string {
    let m = this.m;
    if (m == null) this.m = m = str(this.mAt, this.mLen);
    return m;
  }

  /** The path after the function or chain name, with the query (decoded on first use). */
  get path(): string {
    let p = this.pa;
    if (p == null) this.pa = p = str(this.pAt, this.pLen);
    return p;
  }

  /** All headers (decoded on first use). */
  get headers(): Header[] {
    let hs = this.hs;
    if (hs == null) {
      hs = new Array<Header>();
      let p = this.hAt;
      for (let i = 0; i < this.hCount; i++) {
        const nl = <i32>load<u16>(p);
        const name = str(p + 2, nl);
        p += 2 + <usize>nl;
        const vl = <i32>load<u32>(p);
        hs.push(new Header(name, str(p + 4, vl)));
        p += 4 + <usize>vl;
      }
      this.hs = hs;
    }
    return hs;
  }

  /** Body bytes (a copy out of the input buffer, made on first use; a streamed body is read whole into it). */
  get body(): Uint8Array {
    let b = this.copied;
    if (b == null) {
      b = new Uint8Array(this.bLen);
      if (this.streamed) pullAll(b);
      else memory.copy(b.dataStart, this.bAt, <usize>this.bLen);
      this.copied = b;
    }
    return b;
  }

  /** A header's value by name (any case), compared in place: nothing is allocated but the match. */
  header(name: string): string | null {
    const n = name.length;
    let p = this.hAt;
    for (let i = 0; i < this.hCount; i++) {
      const nl = <i32>load<u16>(p);
      const vl = <i32>load<u32>(p + 2 + <usize>nl);
      if (nl == n && sameName(p + 2, name)) return str(p + 6 + <usize>nl, vl);
      p += 6 + <usize>nl + <usize>vl;
    }
    return null;
  }

  bodyText(): string {
    if (this.streamed) return String.UTF8.decode(this.body.buffer);
    return String.UTF8.decodeUnsafe(this.bAt, <usize>this.bLen);
  }

  get bodyLength(): i32 {
    return this.bLen;
  }
}

/** Reads a whole streamed body into `b` (its length is the body's). */
function pullAll(b: Uint8Array): void {
  const pull = pullBody;
  if (pull == null) {
    throw new Error("the request body is streamed (the bundle declares 'body'): import \"roam/body\" to read it");
  }
  let at = 0;
  while (at < b.length) {
    const n = pull(at, b.dataStart + <usize>at, b.length - at);
    if (n <= 0) break;
    at += n;
  }
}

function lower(c: u8): u8 {
  return c >= 65 && c <= 90 ? c | 0x20 : c;
}

/** Compares header-name bytes at `at` with an (ASCII) name, ignoring case. */
function sameName(at: usize, name: string): bool {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 127 || lower(load<u8>(at + <usize>i)) != lower(<u8>c)) return false;
  }
  return true;
}

function str(p: usize, n: i32): string {
  return String.UTF8.decodeUnsafe(p, <usize>n);
}

/** Parses the request the host encoded into the input buffer; `len` is the function's argument. */
export function request(len: i32): Request {
  const base = inputPtr();
  const end = base + <usize>len;
  let p = base;
  const req = new Request();
  const ml = <i32>load<u16>(p); p += 2;
  req.mAt = p; req.mLen = ml; p += <usize>ml;
  const pl = <i32>load<u16>(p); p += 2;
  req.pAt = p; req.pLen = pl; p += <usize>pl;
  if (p > end) unreachable();
  const hc = <i32>load<u16>(p); p += 2;
  req.hAt = p;
  req.hCount = hc;
  for (let i = 0; i < hc; i++) {
    const nl = <usize>load<u16>(p); p += 2 + nl;
    p += 4 + <usize>load<u32>(p);
    if (p > end) unreachable();
  }
  const bl = <i32>load<u32>(p); p += 4;
  // A streamed body (roam:body): the input ends at the length field and the body stays with the host.
  if (p == end && bl > 0) req.streamed = true;
  else if (p + <usize>bl > end) unreachable();
  req.bAt = p;
  req.bLen = bl;
  return req;
}

export class Response {
  headers: Header[] = [];
  /** A text body, encoded straight into the reply by `respond` (no intermediate buffer). */
  textBody: string | null = null;
  constructor(public status: i32 = 200, public body: Uint8Array = new Uint8Array(0)) {}

  static text(status: i32, text: string, contentType: string = "text/plain; charset=utf-8"): Response {
    const r = new Response(status);
    r.textBody = text;
    r.headers.push(new Header("content-type", contentType));
    return r;
  }
  static json(status: i32, json: string): Response {
    return Response.text(status, json, "application/json");
  }
  setHeader(name: string, value: string): Response {
    this.headers.push(new Header(name, value));
    return this;
  }
}

/** Writes `s` as UTF-8 at `p` after a length field of `lenBytes` (2 or 4); returns the end. */
function put(p: usize, s: string, lenBytes: i32): usize {
  const n = String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, p + <usize>lenBytes);
  if (lenBytes == 2) store<u16>(p, <u16>n);
  else store<u32>(p, <u32>n);
  return p + <usize>lenBytes + n;
}

/** Encodes the response as the reply, straight into the output buffer; `return respond(res)` from a function. */
export function respond(res: Response): i32 {
  const text = res.textBody;
  // One pass over each string: reserve its worst case (3 UTF-8 bytes per UTF-16 unit) instead of measuring
  // it first; the output buffer is kept between calls, so it is sized once.
  let bound = 2 + 2 + 4 + (text != null ? text.length * 3 : res.body.length);
  for (let i = 0; i < res.headers.length; i++) bound += 6 + (res.headers[i].name.length + res.headers[i].value.length) * 3;
  const start = output(bound);
  let p = start;
  store<u16>(p, <u16>res.status); p += 2;
  store<u16>(p, <u16>res.headers.length); p += 2;
  for (let i = 0; i < res.headers.length; i++) {
    p = put(p, res.headers[i].name, 2);
    p = put(p, res.headers[i].value, 4);
  }
  if (text != null) p = put(p, text, 4);
  else {
    store<u32>(p, <u32>res.body.length); p += 4;
    memory.copy(p, res.body.dataStart, <usize>res.body.length);
    p += <usize>res.body.length;
  }
  return <i32>(p - start);
}
