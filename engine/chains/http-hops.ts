/**
 * The same chain semantics with every hop as an HTTP request to the next function (the sidecar/broker
 * pattern): the gateway, as the broker, sends each hop to `/fn/NAME` on itself over keep-alive
 * connections and reads the answer back off the socket. This exists as the baseline the shared-memory
 * hand-off is measured against (`"hops": "http"`).
 */
import { Pool } from 'undici';
import { RoamError } from '../errors.ts';
import { isRemote } from './remote.ts';
import { RemoteAllow } from './remote-allow.ts';

const DENY_ALL = new RemoteAllow();
import type { FnRequest, FnResponse } from '../runtime/http-abi.ts';
import { CHAIN_HEADERS, ChainError, chainFns, type ChainPlan, type Frame, HopLog, hopHeaders, pickNext } from './runner.ts';

export type RequestHead = Omit<FnRequest, 'body'>;

/** `pool` reaches this gateway's `/fn/NAME`; a step named by URL is sent to that URL (its own pool). */
export async function runChainOverHttp(plan: ChainPlan & { route: string }, head: RequestHead, body: Uint8Array, pool: Pool, allow?: RemoteAllow): Promise<{ res: FnResponse; hops: HopLog }> {
  const remotes = new Map<string, Pool>();
  const fns = chainFns(plan.steps, plan.reachable);
  const hops = new HopLog(fns);
  const base = head.headers.filter(([n]) => !CHAIN_HEADERS.has(n) && n !== 'content-length' && n !== 'transfer-encoding');
  const stack: Array<Frame<string>> = [];
  const at = { pos: 0 };
  let fn = plan.steps[0]!;
  let headers = base;
  let data: Uint8Array = body;
  for (;;) {
    if (hops.length >= plan.maxHops) throw new ChainError('E_CHAIN_LOOP', `chain '${plan.route}' exceeded ${plan.maxHops} hops (last: ${fn})`, fn, hops);
    const t0 = performance.now();
    if (isRemote(fn)) (allow ?? DENY_ALL).check(fn);
    const u = isRemote(fn) ? new URL(fn) : null;
    let to = pool;
    if (u && !(to = remotes.get(u.origin)!)) remotes.set(u.origin, (to = new Pool(u.origin, { connect: { lookup: (allow ?? DENY_ALL).lookup } })));
    const path = u ? u.pathname.replace(/\/$/, '') + head.path : `/fn/${encodeURIComponent(fn)}${head.path}`;
    const r = await to.request({ path, method: 'POST', headers: Object.fromEntries(headers), body: data }).catch((e: Error) => {
      for (const p of remotes.values()) void p.destroy();
      throw new ChainError('E_REMOTE', `hop to ${fn} failed: ${e.message}`, fn, hops);
    });
    const resBody = new Uint8Array(await r.body.arrayBuffer());
    const resHeaders: Array<[string, string]> = [];
    for (const [n, v] of Object.entries(r.headers)) if (v !== undefined) resHeaders.push([n, Array.isArray(v) ? v.join(', ') : v]);
    hops.push(fns.indexOf(fn), 0, performance.now() - t0, r.statusCode < 500);
    const res: FnResponse = { status: r.statusCode, headers: resHeaders, body: resBody };
    if (!plan.reachable.has(fn)) throw new RoamError('E_CHAIN_HOP', `'${fn}' is not part of chain '${plan.route}'`);
    const h = (name: string) => (typeof r.headers[name] === 'string' ? (r.headers[name] as string) : null);
    const next = pickNext(plan, fn, { status: r.statusCode, call: h('x-roam-call'), next: h('x-roam-next'), state: h('x-roam-state') }, stack, at, hops);
    if (next === null) {
      for (const p of remotes.values()) void p.close();
      return { res, hops };
    }
    headers = [...base, ...hopHeaders(plan.route, fn, next)];
    data = resBody;
    fn = next.fn;
  }
}
