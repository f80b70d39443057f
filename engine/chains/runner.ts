/**
 * Runs a chain of co-located functions inside one thread. Each hop's reply is read in place: its body
 * and the few chain headers are located without decoding, and the next request (the chain's head,
 * encoded once, plus the hop headers) is assembled in one reusable buffer straight from those bytes,
 * then copied once into the callee's linear memory. Nothing is serialized and nothing crosses a thread.
 * Hops are picked by the chain's declared order, or by the function:
 *   x-roam-next: NAME   continue with NAME (or `-` to finish with this response)
 *   x-roam-call: NAME   call NAME with this response's body, then come back to this function with the
 *                       callee's body and `x-roam-return: NAME` (plus this response's `x-roam-state`)
 * A hop answering ≥ 400 ends the chain with its response.
 */
import { RoamError } from '../errors.ts';
import { RequestWriter, type ResponseScan, scanResponse, type Span, u16at, u32at } from '../runtime/http-abi.ts';

/** How a hop reaches its function (resolved by the caller: a deployment in this thread). */
/**
 * `body`, when given, is the request's body apart from `input` (then only the head): see GuestInstance.call.
 * The reply may be a view of the callee's memory, valid until the next call (it is read once, in place).
 */
export type CallFn = (fn: number, input: Uint8Array, body?: Uint8Array) => { reply: Uint8Array; fuelUsed: number };

export interface ChainPlan {
  /** Route name, or null for a single function (chain headers are then ignored). */
  route: string | null;
  /** Declared order. */
  steps: string[];
  /** Every function the chain may reach (declared steps plus allowed next hops). */
  reachable: ReadonlySet<string>;
  maxHops: number;
}

/** A chain's functions in the order hop logs index them: the steps, then the other reachable ones. */
export const chainFns = (steps: readonly string[], reachable: Iterable<string>): string[] => [...new Set([...steps, ...reachable])];

/** Per-hop statistics, flat: [function index in `fns`, fuel, ms, ok (1/0)] per hop (cheap to post). */
export class HopLog {
  data: Float64Array;
  length = 0;
  /** `hops`: room to start with (a single function's run logs one hop: a 512-byte log per run was 2% of
   *  the network thread's busy time serving hello `greet` inline, --cpu-prof). */
  constructor(readonly fns: readonly string[], hops = 16) {
    this.data = new Float64Array(4 * hops);
  }
  push(fn: number, fuel: number, ms: number, ok: boolean): void {
    if ((this.length + 1) * 4 > this.data.length) {
      const d = new Float64Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    const i = this.length++ * 4;
    this.data[i] = fn;
    this.data[i + 1] = fuel;
    this.data[i + 2] = ms;
    this.data[i + 3] = ok ? 1 : 0;
  }
  /** The log as posted to the gateway: only the used part. */
  packed(): Float64Array {
    return this.length * 4 === this.data.length ? this.data : this.data.slice(0, this.length * 4);
  }
}

export class ChainError extends RoamError {
  constructor(code: string, message: string, readonly fn: string, readonly hops: HopLog | null, cause?: unknown) {
    super(code, message, cause === undefined ? undefined : { cause });
  }
}

/** What a hop's reply says about the next hop; `S` is how the transport holds the state value. */
export interface HopSignals<S> {
  status: number;
  call: string | null;
  next: string | null;
  state: S | null;
}

export interface Frame<S> {
  fn: string;
  pos: number;
  state: S | null;
}

export interface NextHop<S> {
  fn: string;
  returning: boolean;
  state: S | null;
}

export const CHAIN_HEADERS = new Set(['x-roam-next', 'x-roam-call', 'x-roam-state', 'x-roam-return', 'x-roam-from', 'x-roam-chain']);

const te = new TextEncoder();
const H = { call: te.encode('x-roam-call'), next: te.encode('x-roam-next'), state: te.encode('x-roam-state'), ret: te.encode('x-roam-return'), from: te.encode('x-roam-from'), chain: te.encode('x-roam-chain') };
const LOOKED_FOR = [H.call, H.next, H.state];
const td = new TextDecoder();

/**
 * A compiled chain for one worker: function names ↔ indexes, their encoded names, and the reusable
 * hop buffer. Built once per plan and kept.
 */
export class ChainProgram {
  readonly fns: string[];
  readonly index = new Map<string, number>();
  private readonly names: Uint8Array[];
  private readonly routeBytes: Uint8Array;
  private readonly writer = new RequestWriter();
  private readonly scan: ResponseScan = { status: 0, bodyAt: 0, bodyLen: 0, found: [{ at: -1, len: 0 }, { at: -1, len: 0 }, { at: -1, len: 0 }] };

  constructor(readonly plan: ChainPlan) {
    this.fns = chainFns(plan.steps, plan.reachable);
    this.fns.forEach((f, i) => this.index.set(f, i));
    this.names = this.fns.map((f) => te.encode(f));
    this.routeBytes = te.encode(plan.route ?? '');
  }

  /**
   * Runs the chain on the encoded first request `input` and returns the last hop's raw reply; or stops
   * before a remote step (see `isRemote`) and returns where it stands, to go on with `resume` once the
   * gateway has the remote answer.
   */
  run(input: Uint8Array | null, call: CallFn, isRemote: (fn: number) => boolean = () => false, resume?: Resume): { reply: Uint8Array; hops: HopLog } | { suspend: Suspension } {
    const plan = this.plan;
    const hops = new HopLog(this.fns, plan.route === null ? 1 : 16);
    const stack: Array<Frame<Uint8Array>> = resume?.stack ?? [];
    const at = { pos: resume?.pos ?? 0 }; // position in the declared steps; -1 once a hop went off script
    let fn = resume?.fn ?? plan.steps[0]!;
    let data = input ?? new Uint8Array(0);
    // After the first hop, `data` is the next request's head and `body` its body, read in place from the
    // previous reply: the body is copied only into the callee (or pulled by it, with roam:body).
    let body: Uint8Array | undefined;
    let head = resume?.head ?? (plan.route === null ? null : chainHead(data));
    let pending = resume?.reply ?? null;
    if (resume) for (let i = 0; i < resume.hops.length; i += 4) hops.push(resume.hops[i]!, resume.hops[i + 1]!, resume.hops[i + 2]!, resume.hops[i + 3] === 1);
    for (;;) {
      const fi = this.index.get(fn)!;
      let reply: Uint8Array;
      if (pending) {
        reply = pending; // the remote step's answer, already logged by the gateway
        pending = null;
      } else {
        if (hops.length >= plan.maxHops) throw new ChainError('E_CHAIN_LOOP', `chain '${plan.route}' exceeded ${plan.maxHops} hops (last: ${fn})`, fn, hops);
        if (isRemote(fi)) return { suspend: { fn, request: joined(data, body), stack, pos: at.pos, head: head!, hops: hops.packed() } };
        const t0 = performance.now();
        let r: { reply: Uint8Array; fuelUsed: number };
        try {
          r = call(fi, data, body);
        } catch (e) {
          hops.push(fi, 0, performance.now() - t0, false);
          const err = e instanceof RoamError ? e : new RoamError('E_TRAP', String(e));
          throw new ChainError(err.code, err.message, fn, hops, err.cause);
        }
        hops.push(fi, r.fuelUsed, performance.now() - t0, true);
        reply = r.reply;
        if (plan.route === null) return { reply, hops };
      }
      const s = scanResponse(reply, LOOKED_FOR, this.scan);
      const b = reply;
      const st = s.found[2]!;
      // A reply may be borrowed in place from the callee's memory (see CallFn): the call state, kept on the
      // stack across hops, is copied; the body is read before the next call.
      const callTo = text(b, s.found[0]!);
      const next = pickNext(plan, fn, { status: s.status, call: callTo, next: text(b, s.found[1]!), state: st.at < 0 || callTo === null ? null : b.slice(st.at, st.at + st.len) }, stack, at, hops);
      if (next === null) return { reply, hops };
      head ??= chainHead(data);
      const w = this.writer.begin(head.prefix).raw(head.headers, head.count).header(H.chain, this.routeBytes).header(H.from, this.names[fi]!);
      if (next.returning) {
        w.header(H.ret, this.names[fi]!);
        if (next.state !== null) w.header(H.state, next.state);
      }
      data = w.head(s.bodyLen);
      body = b.subarray(s.bodyAt, s.bodyAt + s.bodyLen);
      fn = next.fn;
    }
  }
}

export interface ChainHead {
  prefix: Uint8Array;
  headers: Uint8Array;
  count: number;
}

/** Where a chain stopped before a remote step: the request for it and what the rest of the run needs. */
export interface Suspension {
  fn: string;
  request: Uint8Array;
  stack: Array<Frame<Uint8Array>>;
  pos: number;
  head: ChainHead;
  /** Hop log so far (HopLog layout). */
  hops: Float64Array;
}

/** Going on after a remote step: its answer (response encoding) and the hop log including it. */
export type Resume = Omit<Suspension, 'request'> & { reply: Uint8Array };

/** A whole encoded request (a copy): the head and the body apart, or the request as it is. */
function joined(head: Uint8Array, body: Uint8Array | undefined): Uint8Array {
  if (!body) return head.slice();
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

const text = (b: Uint8Array, s: Span): string | null => (s.at < 0 ? null : td.decode(b.subarray(s.at, s.at + s.len)));

/** The first request's method, path and headers (less chain headers), as bytes to repeat on every hop. */
function chainHead(input: Uint8Array): ChainHead {
  let p = 2 + u16at(input, 0);
  p += 2 + u16at(input, p);
  const prefix = input.subarray(0, p);
  const count = u16at(input, p);
  p += 2;
  const keep: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const start = p;
    const nl = u16at(input, p);
    const name = td.decode(input.subarray(p + 2, p + 2 + nl)).toLowerCase();
    p += 2 + nl;
    p += 4 + u32at(input, p);
    if (!CHAIN_HEADERS.has(name)) keep.push(input.subarray(start, p));
  }
  const headers = new Uint8Array(keep.reduce((n, k) => n + k.length, 0));
  let o = 0;
  for (const k of keep) {
    headers.set(k, o);
    o += k.length;
  }
  return { prefix: prefix.slice(), headers, count: keep.length };
}

/** Headers a hop adds for the next one over HTTP: which chain, who answered, and the return state of a call. */
export function hopHeaders(route: string, from: string, next: NextHop<string>): Array<[string, string]> {
  const extra: Array<[string, string]> = [['x-roam-chain', route], ['x-roam-from', from]];
  if (next.returning) {
    extra.push(['x-roam-return', from]);
    if (next.state !== null) extra.push(['x-roam-state', next.state]);
  }
  return extra;
}

/** `name` if the chain may reach it (a plain function: no closure per hop on the hot path). */
function reach(plan: ChainPlan, fn: string, hops: HopLog | null, name: string, how: string): string {
  if (!plan.reachable.has(name)) throw new ChainError('E_CHAIN_HOP', `'${fn}' asked to ${how} '${name}', which chain '${plan.route}' does not declare`, fn, hops);
  return name;
}

/** The next hop after `fn` answered (null = the chain ends with that answer). Shared by both hop transports. */
export function pickNext<S>(plan: ChainPlan, fn: string, res: HopSignals<S>, stack: Array<Frame<S>>, at: { pos: number }, hops: HopLog | null): NextHop<S> | null {
  if (res.status >= 400) return null;
  if (res.call) {
    stack.push({ fn, pos: at.pos, state: res.state });
    at.pos = -1;
    return { fn: reach(plan, fn, hops, res.call, 'call'), returning: false, state: null };
  }
  const nx = res.next;
  if (nx === '-') return null;
  if (nx) {
    at.pos = at.pos >= 0 && plan.steps[at.pos + 1] === nx ? at.pos + 1 : plan.steps.indexOf(nx);
    return { fn: reach(plan, fn, hops, nx, 'continue with'), returning: false, state: null };
  }
  const frame = stack.pop();
  if (frame) {
    at.pos = frame.pos;
    return { fn: frame.fn, returning: true, state: frame.state };
  }
  if (at.pos < 0 || at.pos + 1 >= plan.steps.length) return null;
  at.pos++;
  return { fn: plan.steps[at.pos]!, returning: false, state: null };
}
