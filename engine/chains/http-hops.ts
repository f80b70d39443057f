/**
 * The same chain semantics with every hop as an HTTP request to the next function (the sidecar/broker
 * pattern): the gateway sends each hop to `/fn/NAME` on itself and reads the answer back off the socket.
 * This exists as the baseline the shared-memory hand-off is measured against (`"hops": "http"`).
 */
import { Pool } from 'undici';
import { RoamError } from '../errors.ts';
import type { FnResponse } from '../runtime/http-abi.ts';
import type { RequestHead } from './request-codec.ts';
import { CHAIN_HEADERS, ChainError, type ChainPlan, type Frame, type HopStat, hopHeaders, pickNext } from './runner.ts';

export async function runChainOverHttp(plan: ChainPlan & { route: string }, head: RequestHead, body: Uint8Array, pool: Pool): Promise<{ res: FnResponse; hops: HopStat[] }> {
  const hops: HopStat[] = [];
  const base = head.headers.filter(([n]) => !CHAIN_HEADERS.has(n) && n !== 'content-length' && n !== 'transfer-encoding');
  const stack: Frame[] = [];
  const at = { pos: 0 };
  let fn = plan.steps[0]!;
  let headers = base;
  let data: Uint8Array = body;
  for (;;) {
    if (hops.length >= plan.maxHops) throw new ChainError('E_CHAIN_LOOP', `chain '${plan.route}' exceeded ${plan.maxHops} hops (last: ${fn})`, fn, hops);
    const t0 = performance.now();
    const r = await pool.request({ path: `/fn/${encodeURIComponent(fn)}${head.path}`, method: 'POST', headers: Object.fromEntries(headers), body: data });
    const resBody = new Uint8Array(await r.body.arrayBuffer());
    const resHeaders: Array<[string, string]> = [];
    for (const [n, v] of Object.entries(r.headers)) if (v !== undefined) resHeaders.push([n, Array.isArray(v) ? v.join(', ') : v]);
    hops.push({ fn, fuel: 0, ms: performance.now() - t0, ok: r.statusCode < 500 });
    const res: FnResponse = { status: r.statusCode, headers: resHeaders, body: resBody };
    if (!plan.reachable.has(fn)) throw new RoamError('E_CHAIN_HOP', `'${fn}' is not part of chain '${plan.route}'`);
    const next = pickNext(plan, fn, res, stack, at);
    if (next === null) return { res, hops };
    headers = [...base, ...hopHeaders(plan.route, fn, next)];
    data = resBody;
    fn = next.fn;
  }
}
