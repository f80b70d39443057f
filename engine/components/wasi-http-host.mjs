// roam's own host for wasi:http/incoming-handler components (plain JS: it runs inside the component worker).
// preview2-shim's HTTP types stream bodies through its I/O worker thread and are only reachable through
// its own HTTPServer (a Node server per component); a call here is one request in, one response out, so
// bodies live in memory: the request body is an input stream over bytes, the response body an output
// stream into a buffer. Resources of wasi:http/types, wasi:io/{streams,poll,error} and the clock and stdio
// interfaces that hand out streams and pollables come from here together, because jco checks a resource
// handed to the guest with `instanceof` against the class given for its interface.
import { validateHeaderName, validateHeaderValue } from 'node:http';

const enc = new TextEncoder();
const dec = new TextDecoder();

// ---- wasi:io ----
class IoError {
  constructor(message) { this.message = message; }
  toDebugString() { return this.message; }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
class Pollable {
  /** `deadline`: monotonic ns (bigint) when it becomes ready; undefined = ready now. */
  constructor(deadline) { this.deadline = deadline; }
  ready() { return this.deadline === undefined || process.hrtime.bigint() >= this.deadline; }
  block() {
    // A worker thread may block; the parent's watchdog bounds the call.
    while (!this.ready()) Atomics.wait(sleeper, 0, 0, Math.max(1, Number(this.deadline - process.hrtime.bigint()) / 1e6));
  }
}
function poll(list) {
  if (list.length === 0) throw new Error('poll: empty list');
  for (;;) {
    const ready = [];
    list.forEach((p, i) => { if (p.ready()) ready.push(i); });
    if (ready.length > 0) return new Uint32Array(ready);
    const next = list.reduce((m, p) => (p.deadline < m ? p.deadline : m), list[0].deadline);
    new Pollable(next).block();
  }
}

class InputStream {
  #bytes;
  #at = 0;
  constructor(bytes) { this.#bytes = bytes; }
  read(len) {
    if (!(#bytes in this) || this.#at >= this.#bytes.length) throw { tag: 'closed' }; // a stand-in (see strayWrite): nothing to read
    const n = Math.min(Number(len), this.#bytes.length - this.#at);
    const out = this.#bytes.slice(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }
  blockingRead(len) { return this.read(len); }
  skip(len) { return BigInt(this.read(len).length); }
  blockingSkip(len) { return this.skip(len); }
  subscribe() { return new Pollable(); }
}

/**
 * The last bytes a guest wrote to stdout/stderr during the current call (a panic message, then a trap):
 * the worker adds them to the call's error. Bounded: only the tail is kept.
 */
const TAIL_BYTES = 2048;
const tail = { chunks: /** @type {Uint8Array[]} */ ([]), size: 0 };
function keepTail(bytes) {
  tail.chunks.push(bytes.slice(-TAIL_BYTES));
  tail.size += Math.min(bytes.length, TAIL_BYTES);
  // drop the oldest chunks while the others alone still hold TAIL_BYTES
  for (let first = tail.chunks[0]; first && tail.size - first.length >= TAIL_BYTES; first = tail.chunks[0]) {
    tail.chunks.shift();
    tail.size -= first.length;
  }
}
/** What the guest wrote to stdout/stderr since the last call (its tail), as text; clears it. */
export function takeOutput() {
  if (tail.size === 0) return ''; // the common call: nothing written
  const text = dec.decode(Buffer.concat(tail.chunks)).slice(-TAIL_BYTES).trim();
  tail.chunks = [];
  tail.size = 0;
  return text;
}

/**
 * jco hands a method a stand-in object (`Object.create(OutputStream.prototype)`, none of roam's fields)
 * when the guest passes a handle its table does not hold: one roam never handed out or already dropped.
 * That used to surface as "Cannot read private member #size". Such a write is taken as the guest's output
 * (what it wrote reaches the log and the call's error), named as a stray handle.
 */
let strayLog = (/** @type {string} */ _line) => {};
function strayWrite(stream, bytes) {
  const handle = Object.getOwnPropertySymbols(stream).map((k) => (String(k) === 'Symbol(handle)' ? stream[k] : undefined)).find((v) => v !== undefined);
  const text = dec.decode(bytes).replace(/\n$/, '');
  keepTail(bytes);
  if (text) strayLog(`${text} (written to output-stream handle ${handle ?? '?'}, which roam never handed out or the guest had dropped)`);
}

/** Collects what the guest writes; `sink` receives each write (stdout/stderr lines) or nothing (a body). */
class OutputStream {
  #chunks = [];
  #size = 0;
  #limit;
  #sink;
  closed = false;
  /** @param {number} limit @param {((bytes: Uint8Array) => void) | null} sink */
  constructor(limit = Infinity, sink = null) { this.#limit = limit; this.#sink = sink; }
  checkWrite() {
    if (this.closed) throw { tag: 'closed' };
    return 1n << 20n;
  }
  write(bytes) {
    if (!(#size in this)) return strayWrite(this, bytes);
    if (this.closed) throw { tag: 'closed' };
    if (this.#sink) {
      keepTail(bytes);
      this.#sink(bytes);
    } else {
      if (this.#size + bytes.length > this.#limit) throw { tag: 'last-operation-failed', val: new IoError(`response body over ${this.#limit} bytes`) };
      this.#chunks.push(bytes.slice());
      this.#size += bytes.length;
    }
  }
  blockingWriteAndFlush(bytes) { this.write(bytes); }
  flush() { if (this.closed) throw { tag: 'closed' }; }
  blockingFlush() { this.flush(); }
  subscribe() { return new Pollable(); }
  writeZeroes(n) { this.write(new Uint8Array(Number(n))); }
  blockingWriteZeroesAndFlush(n) { this.writeZeroes(n); }
  splice(src, len) {
    const b = src.read(len);
    this.write(b);
    return BigInt(b.length);
  }
  blockingSplice(src, len) { return this.splice(src, len); }
  bytes() {
    const out = new Uint8Array(this.#size);
    let at = 0;
    for (const c of this.#chunks) { out.set(c, at); at += c.length; }
    return out;
  }
}

// ---- wasi:http/types ----
const FORBIDDEN = new Set(['connection', 'keep-alive', 'host', 'transfer-encoding', 'upgrade', 'proxy-connection']);
function checkField(name, value) {
  try {
    validateHeaderName(name);
    if (value !== undefined) validateHeaderValue(name, dec.decode(value));
  } catch {
    throw { tag: 'invalid-syntax' };
  }
  if (FORBIDDEN.has(name.toLowerCase())) throw { tag: 'forbidden' };
}

class Fields {
  #entries = [];
  immutable = false;
  static fromList(entries) {
    const f = new Fields();
    for (const [k, v] of entries) f.append(k, v);
    return f;
  }
  #mutable() { if (this.immutable) throw { tag: 'immutable' }; }
  get(name) {
    const n = name.toLowerCase();
    return this.#entries.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
  }
  has(name) { return this.get(name).length > 0; }
  set(name, values) {
    this.#mutable();
    for (const v of values) checkField(name, v);
    this.delete(name);
    for (const v of values) this.#entries.push([name, v]);
  }
  delete(name) {
    this.#mutable();
    const n = name.toLowerCase();
    this.#entries = this.#entries.filter(([k]) => k.toLowerCase() !== n);
  }
  append(name, value) {
    this.#mutable();
    checkField(name, value);
    this.#entries.push([name, value]);
  }
  entries() { return this.#entries.map(([k, v]) => [k, v]); }
  clone() {
    const f = new Fields();
    f.#entries = this.entries();
    return f;
  }
}
const locked = (f) => { f.immutable = true; return f; };

const METHODS = new Set(['get', 'head', 'post', 'put', 'delete', 'connect', 'options', 'trace', 'patch']);

class IncomingRequest {
  #req;
  #headers;
  #consumed = false;
  constructor(req) {
    this.#req = req;
    // Hop-by-hop headers (and any that wasi:http fields would refuse) are not the guest's to see.
    const fields = new Fields();
    for (const [k, v] of req.headers) {
      try { fields.append(k, enc.encode(v)); } catch { /* forbidden or invalid: left out */ }
    }
    this.#headers = locked(fields);
  }
  method() {
    const m = this.#req.method.toLowerCase();
    return METHODS.has(m) ? { tag: m } : { tag: 'other', val: this.#req.method };
  }
  pathWithQuery() { return this.#req.path || '/'; }
  scheme() { return { tag: 'HTTP' }; }
  authority() { return this.#req.headers.find(([k]) => k.toLowerCase() === 'host')?.[1] ?? 'localhost'; }
  headers() { return this.#headers; }
  consume() {
    if (this.#consumed) throw undefined;
    this.#consumed = true;
    return new IncomingBody(this.#req.body);
  }
}

class IncomingBody {
  #stream;
  constructor(bytes) { this.#stream = new InputStream(bytes); }
  stream() {
    const s = this.#stream;
    if (!s) throw undefined;
    this.#stream = null;
    return s;
  }
  static finish(_body) { return new FutureTrailers(); }
}

class FutureTrailers {
  #taken = false;
  subscribe() { return new Pollable(); }
  get() {
    if (this.#taken) return { tag: 'err' };
    this.#taken = true;
    return { tag: 'ok', val: { tag: 'ok', val: undefined } };
  }
}

class OutgoingResponse {
  #status = 200;
  #headers;
  /** @type {OutgoingBody | null} */
  body_ = null;
  constructor(headers) { this.#headers = locked(headers); }
  statusCode() { return this.#status; }
  setStatusCode(code) {
    if (!Number.isInteger(code) || code < 100 || code > 599) throw undefined;
    this.#status = code;
  }
  headers() { return this.#headers; }
  body() {
    if (this.body_) throw undefined;
    this.body_ = new OutgoingBody(bodyLimit);
    return this.body_;
  }
}

class OutgoingBody {
  #stream;
  taken = false;
  finished = false;
  constructor(limit) { this.#stream = new OutputStream(limit); }
  write() {
    if (this.taken) throw undefined;
    this.taken = true;
    return this.#stream;
  }
  static finish(body, trailers) {
    if (trailers) throw { tag: 'internal-error', val: 'roam does not send response trailers' };
    body.finished = true;
    body.#stream.closed = true;
  }
  bytes() { return this.#stream.bytes(); }
}

class ResponseOutparam {
  /** @type {{ tag: 'ok' | 'err', val: any } | null} */
  result = null;
  static set(param, response) {
    if (param.result) throw new Error('response-outparam.set called twice');
    param.result = response;
  }
}

// Outgoing HTTP is not provided: the types exist because the world names them; calls are refused.
const noOutgoing = () => { throw { tag: 'internal-error', val: 'outgoing HTTP from components is not provided by roam' }; };
class OutgoingRequest { constructor() { noOutgoing(); } }
class RequestOptions { constructor() { noOutgoing(); } }
class IncomingResponse {}
class FutureIncomingResponse {}

// ---- clocks, stdio ----
const monotonicClock = {
  now: () => process.hrtime.bigint(),
  resolution: () => 1n,
  subscribeInstant: (at) => new Pollable(at),
  subscribeDuration: (ns) => new Pollable(process.hrtime.bigint() + ns),
};

let bodyLimit = Infinity;

/** Partial lines the guest's stdout/stderr hold, flushed at the end of each call (`flushLines`). */
const partial = new Set();
const LINE_MAX = 4096;

/**
 * Writes → whole lines: a guest that writes a line in pieces (Rust's unbuffered stderr writes a panic
 * message in five) logs it once. A line longer than LINE_MAX is cut there.
 */
function lineSink(emit) {
  const sink = { pending: '', flush() { if (sink.pending) emit(sink.pending); sink.pending = ''; } };
  return (bytes) => {
    const parts = (sink.pending + dec.decode(bytes)).split('\n');
    sink.pending = parts.pop() ?? '';
    for (const line of parts) emit(line);
    if (sink.pending.length > LINE_MAX) sink.flush();
    partial.add(sink);
  };
}

/** Logs what the guest left without a newline (called after every call, a trap's included). */
export function flushLines() {
  for (const s of partial) s.flush();
  partial.clear();
}

/**
 * The interfaces above, keyed as jco's instantiate wants them (unversioned). `log` receives each line
 * the guest writes to stdout/stderr. `maxBodyBytes` bounds a response body (the gateway's body limit).
 */
export function wasiHttpHost({ log, maxBodyBytes = Infinity }) {
  bodyLimit = maxBodyBytes;
  const stdout = new OutputStream(Infinity, lineSink((s) => log(s, 'info')));
  const stderr = new OutputStream(Infinity, lineSink((s) => log(s, 'warn')));
  strayLog = (s) => log(s, 'warn');
  return {
    'wasi:io/error': { Error: IoError },
    'wasi:io/poll': { Pollable, poll },
    'wasi:io/streams': { InputStream, OutputStream },
    'wasi:clocks/monotonic-clock': monotonicClock,
    'wasi:cli/stdout': { getStdout: () => stdout },
    'wasi:cli/stderr': { getStderr: () => stderr },
    'wasi:cli/stdin': { getStdin: () => new InputStream(new Uint8Array(0)) },
    'wasi:cli/terminal-input': { TerminalInput: class TerminalInput {} },
    'wasi:cli/terminal-output': { TerminalOutput: class TerminalOutput {} },
    'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
    'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
    'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
    'wasi:http/types': {
      Fields, IncomingRequest, IncomingBody, FutureTrailers, OutgoingResponse, OutgoingBody, ResponseOutparam,
      OutgoingRequest, RequestOptions, IncomingResponse, FutureIncomingResponse,
      httpErrorCode: () => undefined,
    },
    'wasi:http/outgoing-handler': { handle: noOutgoing },
  };
}

/**
 * Serves one request through `incomingHandler.handle`, as a roam FnResponse. Everything happens inside
 * the call: StarlingMonkey runs its event loop (promises, the body stream) before `handle` returns.
 */
export function serveIncoming(incomingHandler, req) {
  const out = new ResponseOutparam();
  incomingHandler.handle(new IncomingRequest(req), out);
  const r = out.result;
  if (!r) return fail('the handler returned without setting a response');
  if (r.tag === 'err') return fail(`the handler answered with error-code ${JSON.stringify(r.val)}`);
  const res = r.val;
  const body = res.body_;
  if (body && !body.finished) return fail('the handler did not finish the response body');
  const headers = res.headers().entries().map(([k, v]) => [k, dec.decode(v)]);
  return { status: res.statusCode(), headers, body: body ? body.bytes() : new Uint8Array(0) };
}

function fail(reason) {
  const wrote = takeOutput(); // e.g. a guest that printed its error and returned without a response
  if (wrote) reason += `; the guest wrote: ${JSON.stringify(wrote)}`;
  return { status: 500, headers: [['content-type', 'text/plain; charset=utf-8'], ['x-roam-error', 'E_HANDLER']], body: enc.encode(`wasi:http handler failed: ${reason}`) };
}
