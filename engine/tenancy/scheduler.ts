/**
 * Fair sharing of the function workers between tenants: start-time fair queueing (a WFQ variant), charged
 * with what runs actually cost.
 *
 * Each tenant has a virtual finish time F. The head run of a waiting tenant has the start tag
 * S = max(V, F); the smallest S among tenants under their concurrency cap goes next, V becomes S, and F
 * becomes S + estimate / weight (the estimate: the function's recent mean service time). When the run
 * ends and its actual cost is known (the worker's time in the guest), F is corrected by
 * (actual − estimate) / weight, so a tenant whose runs cost more than estimated pays for it on its next
 * ones, and over a backlogged period each tenant's share of worker time follows its weight; when tenants
 * run the same code, so does its share of completed requests. Tags are taken when a run reaches the head
 * of its tenant's queue, not when it arrives, so a correction counts at once, not after the runs already
 * queued. An idle tenant banks no credit (V moves on). Event-driven: nothing runs while idle.
 */
import { performance } from 'node:perf_hooks';
import { RoamError } from '../errors.ts';
import type { TenantTable } from './tenants.ts';

interface Job {
  cost: number;
  run: () => Promise<unknown>;
  actual: ((v: unknown) => number | null) | undefined;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface TenantQueue {
  jobs: Job[];
  head: number;
  /** Virtual finish time of the tenant's last dispatched run. */
  finish: number;
  inFlight: number;
  /** Wall time its runs spent handed to the workers (queued there included), ms. */
  served: number;
  /** Actual cost charged (the workers' time in the guest, where reported), ms. */
  work: number;
  completed: number;
  rejected: number;
  /** Scheduling decisions made since the tenant appeared, and how many found it with a run waiting
   *  (backlogged): the fairness guarantee holds only for a tenant that is. */
  decisions: number;
  backlogged: number;
}

export interface TenantStats {
  queued: number;
  inFlight: number;
  completed: number;
  rejected: number;
  /** Wall time in flight (handed to the workers until done), ms. */
  servedMs: number;
  /** Worker time charged (actual cost of runs that reported one, else their estimate), ms. */
  workMs: number;
  /** Scheduling decisions seen, and how many of them found this tenant with a run waiting. */
  decisions: number;
  backlogged: number;
}

/** A run admitted by `admitNow`, to be settled by `settleNow` once it has run on the caller's thread. */
export interface Admission {
  readonly tenant: string;
  readonly cost: number;
  readonly t0: number;
}

export class FairScheduler {
  private readonly queues = new Map<string, TenantQueue>();
  private vtime = 0;
  private inFlight = 0;
  /** Runs waiting in all tenants' queues together. */
  private waiting = 0;

  /** `capacity`: runs handed to the workers at once (a little above the worker count keeps them fed). */
  constructor(readonly capacity: number, private readonly tenants: TenantTable) {}

  private queue(tenant: string): TenantQueue {
    let q = this.queues.get(tenant);
    if (!q) {
      q = { jobs: [], head: 0, finish: 0, inFlight: 0, served: 0, work: 0, completed: 0, rejected: 0, decisions: 0, backlogged: 0 };
      this.queues.set(tenant, q);
    }
    return q;
  }

  /**
   * Queues `run` for `tenant`; `costMs` is the expected service time, `actual` (optional) reads the
   * actual cost in ms from the run's result (null: unknown, the estimate stands). Rejects with
   * E_OVERLOAD (429) when the tenant's queue is full.
   */
  submit<T>(tenant: string, costMs: number, run: () => Promise<T>, actual?: (v: T) => number | null): Promise<T> {
    const cfg = this.tenants.get(tenant);
    const q = this.queue(tenant);
    if (q.jobs.length - q.head >= cfg.maxQueue) {
      q.rejected++;
      return Promise.reject(new RoamError('E_OVERLOAD', `tenant '${tenant}' has ${cfg.maxQueue} requests waiting; try again later`));
    }
    return new Promise<T>((resolve, reject) => {
      q.jobs.push({ cost: Math.max(costMs, 0.001), run, actual: actual as Job['actual'], resolve: resolve as (v: unknown) => void, reject });
      this.waiting++;
      this.pump();
    });
  }

  /**
   * Admits a run that the caller runs synchronously right away (the gateway's inline fast path), when
   * `submit` would have dispatched it at once: no run waits in any tenant's queue, capacity is free and
   * the tenant is under its concurrency cap. The same decision and accounting as `submit`'s, without
   * the promise and closures (engine/http/invoke.ts has the measured numbers). Null: use `submit`.
   * The caller must `settleNow` the admission once the run is over, whatever its outcome.
   */
  admitNow(tenant: string, costMs: number): Admission | null {
    if (this.waiting > 0 || this.inFlight >= this.capacity) return null;
    const cfg = this.tenants.get(tenant);
    if (cfg.maxQueue <= 0) return null; // submit answers that (429)
    const q = this.queue(tenant);
    if (q.inFlight >= cfg.maxConcurrency) return null;
    // The decision pump would take: this run is the only one waiting.
    for (const o of this.queues.values()) o.decisions++;
    q.backlogged++;
    const start = Math.max(this.vtime, q.finish);
    const cost = Math.max(costMs, 0.001);
    this.vtime = start;
    q.finish = start + cost / cfg.weight;
    this.inFlight++;
    q.inFlight++;
    return { tenant, cost, t0: performance.now() };
  }

  /** Ends an admitted run; `actualMs`: what it cost (null: the estimate stands), as `submit`'s `actual`. */
  settleNow(a: Admission, actualMs: number | null): void {
    this.settle(a.tenant, this.queues.get(a.tenant)!, a.cost, a.t0, actualMs);
    if (this.waiting > 0) this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.capacity) {
      let best: TenantQueue | null = null;
      let bestName = '';
      let bestStart = Infinity;
      for (const [name, q] of this.queues) {
        if (q.head >= q.jobs.length) continue;
        if (q.inFlight >= this.tenants.get(name).maxConcurrency) continue;
        const start = Math.max(this.vtime, q.finish);
        if (start < bestStart) {
          best = q;
          bestName = name;
          bestStart = start;
        }
      }
      if (!best) return;
      for (const q of this.queues.values()) {
        q.decisions++;
        if (q.head < q.jobs.length) q.backlogged++;
      }
      const job = best.jobs[best.head]!;
      best.jobs[best.head++] = undefined as unknown as Job;
      this.waiting--;
      if (best.head > 1024 && best.head * 2 > best.jobs.length) {
        best.jobs = best.jobs.slice(best.head);
        best.head = 0;
      }
      this.vtime = bestStart;
      best.finish = bestStart + job.cost / this.tenants.get(bestName).weight;
      this.dispatch(bestName, best, job);
    }
  }

  private dispatch(name: string, q: TenantQueue, job: Job): void {
    this.inFlight++;
    q.inFlight++;
    const t0 = performance.now();
    // Anonymous arrows calling a method: a named closure per job would cost tsx's __name (engine/README.md).
    job.run().then(
      (v) => (this.finished(name, q, job, t0, v, true), job.resolve(v)),
      (e) => (this.finished(name, q, job, t0, e, false), job.reject(e)),
    );
  }

  private finished(name: string, q: TenantQueue, job: Job, t0: number, v: unknown, ok: boolean): void {
    this.settle(name, q, job.cost, t0, ok && job.actual ? job.actual(v) : null);
    this.pump();
  }

  /** A run is over: frees its place and charges the tenant what it cost (`actual` when known, else `estimate`). */
  private settle(name: string, q: TenantQueue, estimate: number, t0: number, actual: number | null): void {
    this.inFlight--;
    q.inFlight--;
    q.completed++;
    q.served += performance.now() - t0;
    let cost = estimate;
    if (actual !== null && Number.isFinite(actual) && actual >= 0) {
      cost = actual;
      q.finish += (actual - estimate) / this.tenants.get(name).weight;
    }
    q.work += cost;
  }

  stats(): Record<string, TenantStats> {
    const out: Record<string, TenantStats> = {};
    const r3 = (x: number) => Math.round(x * 1000) / 1000;
    for (const [name, q] of this.queues) out[name] = { queued: q.jobs.length - q.head, inFlight: q.inFlight, completed: q.completed, rejected: q.rejected, servedMs: r3(q.served), workMs: r3(q.work), decisions: q.decisions, backlogged: q.backlogged };
    return out;
  }
}
