/**
 * Invoking a function or a chain: the request written once into the payload pool, fair-scheduled per
 * tenant, run (inline, on a host worker, or hop by hop over HTTP), remote steps taken here, the response
 * written from the pool slot, metrics and per-bundle counters recorded.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { RoamError } from '../errors.ts';
import { decodeResponse } from '../runtime/http-abi.ts';
import { runChainOverHttp } from '../chains/http-hops.ts';
import { RemoteHops } from '../chains/remote.ts';
import type { RemoteAllow } from '../chains/remote-allow.ts';
import type { Descriptor, PayloadPool } from '../chains/payload-pool.ts';
import { ChargeModel } from '../tenancy/charge.ts';
import type { FairScheduler } from '../tenancy/scheduler.ts';
import type { DeployedBundle, Registry } from '../server/registry.ts';
import { encodeBodiless, hasNoBody, readBody, readRequest } from './body.ts';
import { errorBody, httpStatus } from './errors.ts';
import type { Executor } from './executor.ts';
import type { Logger } from './log.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { CachedPlan, Plans } from './plans.ts';
import { forwardHeaders, sendJson, writeFnResponse } from './respond.ts';
import type { RunResult } from './task.ts';

export interface InvokerOptions {
  registry: Registry;
  plans: Plans;
  executor: Executor;
  scheduler: FairScheduler;
  metrics: GatewayMetrics;
  log: Logger;
  maxBody: number;
  maxHops: number;
  timeoutMs: number;
  /** The gateway's own URL once known (chains with `"hops": "http"` call it). */
  selfUrl(): string | null;
  /** True while the server shuts down (failures then are not logged as errors). */
  closing(): boolean;
  /** The hosts remote chain steps may reach (engine/chains/remote-allow.ts). */
  remoteAllow: RemoteAllow;
}

export class Invoker {
  /** What a run costs its tenant: its hops' guest time, OS pauses cut off (tenancy/charge.ts). */
  private readonly charges = new ChargeModel();
  private readonly remoteHops: RemoteHops;
  private selfPool: Pool | null = null;
  /** A bundle's ref by hash (made once: a closure per request costs, engine/README.md). */
  private readonly refOf = (hash: string) => this.o.registry.ref(hash);

  constructor(private readonly o: InvokerOptions) {
    this.remoteHops = new RemoteHops(o.timeoutMs, o.remoteAllow);
  }

  /** Invokes a function or a chain; writes the function's response. */
  async invoke(req: IncomingMessage, res: ServerResponse, kind: 'fn' | 'chain', name: string, rest: string): Promise<void> {
    const { registry, plans, executor, scheduler, metrics, maxBody, maxHops } = this.o;
    const t0 = performance.now();
    if (kind === 'fn') {
      const b = registry.bundleOf(name);
      if (!b) throw new RoamError('E_NOT_FOUND', `no function '${name}'`);
      if (b.component) return this.component(req, res, b, name, rest, t0);
    } else if (!registry.chain(name)) throw new RoamError('E_NOT_FOUND', `no chain route '${name}'`);
    const plan = plans.planFor(kind, name);
    if (plan.http) {
      const body = await readBody(req, maxBody);
      const { res: fr } = await runChainOverHttp({ route: name, steps: plan.def.steps, reachable: new Set(plan.fns), maxHops }, { method: req.method ?? 'GET', path: rest, headers: forwardHeaders(req) }, body, this.self(), this.o.remoteAllow);
      writeFnResponse(res, fr, name);
      metrics.recordRequest(kind, name, fr.status, (performance.now() - t0) / 1000);
      return;
    }
    if (this.runInlineNow(req, res, kind, name, plan, rest, t0)) return;
    const tenant = plan.tenant;
    // The request is written once, straight into the shared payload pool (or shared memory when large).
    const input = await readRequest(req, executor.pool, req.method ?? 'GET', rest, maxBody);
    const d = input instanceof Uint8Array ? null : input;
    const pool = executor.pool;
    let r: RunResult;
    try {
      r = await scheduler.submit(tenant, metrics.cost(plan.def.steps), () => executor.run(plan.def, input, (h) => registry.ref(h)), (r) => this.charges.bill(plan.fns, r.hops));
    } catch (e) {
      if (d) pool.free(d);
      throw e;
    }
    if (!r.ok && (r.code === 'E_TIMEOUT' || r.code === 'E_WORKER' || r.code === 'E_NOT_FOUND') && d) pool.free(d); // no worker got to free it
    // A remote step: the payload leaves this process here, and the chain goes on with the answer.
    while (r.ok && 'remote' in r) {
      const s = r.remote;
      const at = performance.now();
      let reply: Uint8Array;
      try {
        reply = await this.remoteHops.call(s.fn, s.request);
      } catch (e) {
        const hops = appendHop(s.hops, plan.fns.indexOf(s.fn), performance.now() - at, false);
        r = { ok: false, code: (e as { code?: string }).code === 'E_REMOTE_DENIED' ? 'E_REMOTE_DENIED' : 'E_REMOTE', message: (e as Error).message, fn: s.fn, appStatus: null, hops };
        break;
      }
      const resume = { fn: s.fn, stack: s.stack, pos: s.pos, head: s.head, hops: appendHop(s.hops, plan.fns.indexOf(s.fn), performance.now() - at, true), reply };
      r = await scheduler.submit(tenant, metrics.cost(plan.def.steps), () => executor.run(plan.def, null, (h) => registry.ref(h), resume));
    }
    this.answer(res, kind, name, plan, r, t0);
  }

  /**
   * The fast path: a request without a body, for a plan the network thread runs itself (inline-functions.ts),
   * while the fair scheduler would dispatch it at once anyway — encoded, admitted, run and answered
   * synchronously, in this call: no promise, stream listener or closure per request. The same
   * accounting as the queued path (scheduler decision and charge, metrics, per-bundle counters).
   * Measured with hello `greet` (bench:http, --cpu-prof of the server): on the queued path the request's
   * four listeners and tsx-named closures (readRequest), the scheduler's promise and job closures and the
   * microtask turns were ~6% of the network thread's busy time, as much as the guest's own run.
   * False, having done nothing: take the queued path (`ready` said the lane runs it, so `tryRun` does).
   */
  private runInlineNow(req: IncomingMessage, res: ServerResponse, kind: 'fn' | 'chain', name: string, plan: CachedPlan, rest: string, t0: number): boolean {
    const { executor, scheduler } = this.o;
    const lane = executor.inline;
    if (lane === null || !hasNoBody(req) || !lane.ready(plan.def)) return false;
    const admission = scheduler.admitNow(plan.tenant, this.o.metrics.cost(plan.def.steps));
    if (admission === null) return false;
    const input = encodeBodiless(req, executor.pool, req.method ?? 'GET', rest);
    let r: RunResult | null = null;
    try {
      r = lane.tryRun(plan.def, input, this.refOf);
    } finally {
      // tryRun frees a pool input it ran; one it did not take is freed here (the queued path re-reads the request).
      if (r === null && !(input instanceof Uint8Array)) executor.pool.free(input);
      scheduler.settleNow(admission, r === null ? null : this.charges.bill(plan.fns, r.hops));
    }
    if (r === null) return false;
    this.answer(res, kind, name, plan, r, t0);
    return true;
  }

  /** Records a finished run (metrics, per-bundle counters) and writes its response or its error. */
  private answer(res: ServerResponse, kind: 'fn' | 'chain', name: string, plan: CachedPlan, r: RunResult, t0: number): void {
    const { metrics } = this.o;
    const tenant = plan.tenant;
    const pool = this.o.executor.pool;
    metrics.recordHops(tenant, plan.fns, r.hops, r.ok ? null : r.code);
    if (r.hops) {
      for (let i = 0; i < r.hops.length; i += 4) {
        const s = plan.stats[r.hops[i]!]!;
        s.calls++;
        s.fuel += r.hops[i + 1]!;
        if (r.hops[i + 3] === 0) s.errors++;
      }
    }
    if (!r.ok) {
      if (!r.hops?.length) metrics.recordFailure(r.fn, tenant, r.code);
      const status = httpStatus(r.code, r.appStatus);
      const out = { error: r.code, message: r.message, function: r.fn };
      if (status >= 500 && !this.o.closing()) this.o.log('error', 'function failed', { kind, name, ...out });
      sendJson(res, status, out);
      metrics.recordRequest(kind, name, status, (performance.now() - t0) / 1000);
      return;
    }
    if (!('output' in r)) throw new RoamError('E_INTERNAL', 'run ended without output');
    let status = 500;
    const last = r.hops?.length ? plan.fns[r.hops[r.hops.length - 4]!] ?? name : name; // the function that answered
    if (r.output instanceof Uint8Array) status = writeFnResponse(res, decodeResponse(r.output), last);
    else {
      // The body goes to the socket from the pool slot itself; the slot is freed once the response is done.
      const out = r.output;
      const free = freeOnce(pool, out);
      res.once('close', free);
      try {
        status = writeFnResponse(res, decodeResponse(pool.view(out)), last);
      } catch (e) {
        free();
        throw e;
      }
    }
    metrics.recordRequest(kind, name, status, (performance.now() - t0) / 1000);
  }

  /** A component function runs in its own worker (engine/components), under the same fair scheduler. */
  private async component(req: IncomingMessage, res: ServerResponse, b: DeployedBundle, name: string, rest: string, t0: number): Promise<void> {
    const fn = b.component!;
    const request = { method: req.method ?? 'GET', path: rest, headers: forwardHeaders(req), body: await readBody(req, this.o.maxBody) };
    const s = this.o.plans.counters(b.name);
    s.calls++;
    let status = 500;
    try {
      status = writeFnResponse(res, await this.o.scheduler.submit(b.manifest.tenant, this.o.metrics.cost([name]), () => fn.call(request)), name);
    } catch (e) {
      s.errors++;
      status = httpStatus(errorBody(e).error);
      throw e; // answered by the gateway as { error, message } with that status
    } finally {
      this.o.metrics.recordRequest('fn', name, status, (performance.now() - t0) / 1000);
    }
  }

  private self(): Pool {
    const url = this.o.selfUrl();
    if (!url) throw new RoamError('E_CHAIN', 'chains with "hops": "http" need the gateway to know its own URL (listen, or the selfUrl option)');
    return (this.selfPool ??= new Pool(url, { connections: 64, pipelining: 1 }));
  }

  async close(): Promise<void> {
    await this.selfPool?.destroy();
    await this.remoteHops.close();
  }
}

/** A hop log with one more hop (a remote step, timed here). */
function appendHop(log: Float64Array, fn: number, ms: number, ok: boolean): Float64Array {
  const out = new Float64Array(log.length + 4);
  out.set(log);
  out.set([fn, 0, ms, ok ? 1 : 0], log.length);
  return out;
}

/** Frees a pool slot at most once (an anonymous closure: a named one per request would cost tsx's __name, engine/README.md). */
function freeOnce(pool: PayloadPool, out: Descriptor): () => void {
  let freed = false;
  return () => {
    if (!freed) pool.free(out);
    freed = true;
  };
}
