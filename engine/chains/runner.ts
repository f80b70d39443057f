/**
 * Runs a chain of co-located functions inside one thread: each hop's input is encoded in place in the
 * shared payload pool and handed to the next function as a descriptor; nothing is serialized between
 * hops and nothing crosses a thread. Hops are picked by the chain's declared order, or by the function:
 *   x-roam-next: NAME   continue with NAME (or `-` to finish with this response)
 *   x-roam-call: NAME   call NAME with this response's body, then come back to this function with the
 *                       callee's body and `x-roam-return: NAME` (plus this response's `x-roam-state`)
 * A hop answering ≥ 400 ends the chain with its response.
 */
import { RoamError } from '../errors.ts';
import { decodeResponse, type FnResponse } from '../runtime/http-abi.ts';
import type { Descriptor, PayloadPool } from './payload-pool.ts';
import { encodeHead, type RequestHead, writeHead } from './request-codec.ts';

/** How a hop reaches its function (resolved by the caller: a deployment in this thread). */
export type CallFn = (fn: string, input: Uint8Array) => { reply: Uint8Array; fuelUsed: number };

export interface HopStat {
  fn: string;
  fuel: number;
  ms: number;
  ok: boolean;
}

export interface ChainPlan {
  /** Route name, or null for a single function (chain headers are then ignored). */
  route: string | null;
  /** Declared order. */
  steps: string[];
  /** Every function the chain may reach (declared steps plus allowed next hops). */
  reachable: ReadonlySet<string>;
  maxHops: number;
}

export class ChainError extends RoamError {
  constructor(code: string, message: string, readonly fn: string, readonly hops: HopStat[], cause?: unknown) {
    super(code, message, cause === undefined ? undefined : { cause });
  }
}

export interface Frame {
  fn: string;
  pos: number;
  state: string | null;
}

export const CHAIN_HEADERS = new Set(['x-roam-next', 'x-roam-call', 'x-roam-state', 'x-roam-return', 'x-roam-from', 'x-roam-chain']);

/** Runs `plan` on the encoded first request `input`; returns the last hop's raw reply (response encoding). */
export function runChain(plan: ChainPlan, head: RequestHead, input: Uint8Array, call: CallFn, pool: PayloadPool | null): { reply: Uint8Array; hops: HopStat[] } {
  const hops: HopStat[] = [];
  const baseHeaders = head.headers.filter(([n]) => !CHAIN_HEADERS.has(n.toLowerCase()));
  const stack: Frame[] = [];
  let fn = plan.steps[0]!;
  const at = { pos: 0 }; // position in the declared steps; -1 once a hop went off script
  let data = input;
  let held: Descriptor | null = null; // the pool slot `data` lives in, freed once the next hop has read it
  try {
    for (;;) {
      if (hops.length >= plan.maxHops) throw new ChainError('E_CHAIN_LOOP', `chain '${plan.route}' exceeded ${plan.maxHops} hops (last: ${fn})`, fn, hops);
      const t0 = performance.now();
      let r: { reply: Uint8Array; fuelUsed: number };
      try {
        r = call(fn, data);
      } catch (e) {
        hops.push({ fn, fuel: 0, ms: performance.now() - t0, ok: false });
        const err = e instanceof RoamError ? e : new RoamError('E_TRAP', String(e));
        throw new ChainError(err.code, err.message, fn, hops, err.cause);
      }
      hops.push({ fn, fuel: r.fuelUsed, ms: performance.now() - t0, ok: true });
      if (held && pool) pool.free(held);
      held = null;
      if (plan.route === null) return { reply: r.reply, hops };
      const res = decodeResponse(r.reply);
      const next = pickNext(plan, fn, res, stack, at);
      if (next === null) return { reply: r.reply, hops };
      const h = encodeHead({ method: 'POST', path: head.path, headers: [...baseHeaders, ...hopHeaders(plan.route, fn, next)] });
      const size = h.size + res.body.length;
      const d = pool?.alloc(size) ?? null;
      const out = d ? pool!.view(d) : new Uint8Array(size);
      out.set(res.body, writeHead(h, res.body.length, out, 0));
      data = out;
      held = d;
      fn = next.fn;
    }
  } finally {
    if (held && pool) pool.free(held);
  }
}

/** Headers a hop adds for the next one: which chain, who answered, and the return state of a call. */
export function hopHeaders(route: string, from: string, next: NextHop): Array<[string, string]> {
  const extra: Array<[string, string]> = [['x-roam-chain', route], ['x-roam-from', from]];
  if (next.returning) {
    extra.push(['x-roam-return', from]);
    if (next.state !== null) extra.push(['x-roam-state', next.state]);
  }
  return extra;
}

export interface NextHop {
  fn: string;
  returning: boolean;
  state: string | null;
}

function header(res: FnResponse, name: string): string | null {
  for (const [n, v] of res.headers) if (n.toLowerCase() === name) return v;
  return null;
}

/** The next hop after `fn` answered `res` (null = the chain ends with `res`). Shared by both hop transports. */
export function pickNext(plan: ChainPlan, fn: string, res: FnResponse, stack: Frame[], at: { pos: number }): NextHop | null {
  if (res.status >= 400) return null;
  const reach = (name: string, how: string) => {
    if (!plan.reachable.has(name)) throw new ChainError('E_CHAIN_HOP', `'${fn}' asked to ${how} '${name}', which chain '${plan.route}' does not declare`, fn, []);
    return name;
  };
  const callee = header(res, 'x-roam-call');
  if (callee) {
    stack.push({ fn, pos: at.pos, state: header(res, 'x-roam-state') });
    at.pos = -1;
    return { fn: reach(callee, 'call'), returning: false, state: null };
  }
  const nx = header(res, 'x-roam-next');
  if (nx === '-') return null;
  if (nx) {
    at.pos = at.pos >= 0 && plan.steps[at.pos + 1] === nx ? at.pos + 1 : plan.steps.indexOf(nx);
    return { fn: reach(nx, 'continue with'), returning: false, state: null };
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
