// Functions: an encoded HTTP-like request in, an encoded response out (format in guest-sdk/README.md).
import { inputPtr, output } from "./io";

export class Header {
  constructor(public name: string, public value: string) {}
}

export class Request {
  method: string = "";
  path: string = "";
  headers: Header[] = [];
  /** Body bytes (a view into the input buffer copy). */
  body: Uint8Array = new Uint8Array(0);

  header(name: string): string | null {
    const lower = name.toLowerCase();
    for (let i = 0; i < this.headers.length; i++) if (this.headers[i].name.toLowerCase() == lower) return this.headers[i].value;
    return null;
  }
  bodyText(): string {
    return String.UTF8.decodeUnsafe(this.body.dataStart, <usize>this.body.length);
  }
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
  req.method = str(p, ml); p += <usize>ml;
  const pl = <i32>load<u16>(p); p += 2;
  req.path = str(p, pl); p += <usize>pl;
  const hc = <i32>load<u16>(p); p += 2;
  for (let i = 0; i < hc; i++) {
    const nl = <i32>load<u16>(p); p += 2;
    const name = str(p, nl); p += <usize>nl;
    const vl = <i32>load<u32>(p); p += 4;
    req.headers.push(new Header(name, str(p, vl)));
    p += <usize>vl;
  }
  const bl = <i32>load<u32>(p); p += 4;
  if (p + <usize>bl > end) unreachable();
  const body = new Uint8Array(bl);
  memory.copy(body.dataStart, p, <usize>bl);
  req.body = body;
  return req;
}

export class Response {
  headers: Header[] = [];
  constructor(public status: i32 = 200, public body: Uint8Array = new Uint8Array(0)) {}

  static text(status: i32, text: string, contentType: string = "text/plain; charset=utf-8"): Response {
    const r = new Response(status, Uint8Array.wrap(String.UTF8.encode(text)));
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

/** Encodes the response as the reply; `return respond(res)` from a function. */
export function respond(res: Response): i32 {
  const names = new Array<ArrayBuffer>(res.headers.length);
  const values = new Array<ArrayBuffer>(res.headers.length);
  let size = 2 + 2 + 4 + res.body.length;
  for (let i = 0; i < res.headers.length; i++) {
    names[i] = String.UTF8.encode(res.headers[i].name);
    values[i] = String.UTF8.encode(res.headers[i].value);
    size += 2 + names[i].byteLength + 4 + values[i].byteLength;
  }
  let p = output(size);
  store<u16>(p, <u16>res.status); p += 2;
  store<u16>(p, <u16>res.headers.length); p += 2;
  for (let i = 0; i < res.headers.length; i++) {
    store<u16>(p, <u16>names[i].byteLength); p += 2;
    memory.copy(p, changetype<usize>(names[i]), <usize>names[i].byteLength); p += <usize>names[i].byteLength;
    store<u32>(p, <u32>values[i].byteLength); p += 4;
    memory.copy(p, changetype<usize>(values[i]), <usize>values[i].byteLength); p += <usize>values[i].byteLength;
  }
  store<u32>(p, <u32>res.body.length); p += 4;
  memory.copy(p, res.body.dataStart, <usize>res.body.length);
  return size;
}
