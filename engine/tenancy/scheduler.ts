/**
 * Fair sharing of the function workers between tenants: start-time fair queueing (a WFQ variant).
 * Each run gets a virtual start tag max(V, tenant's last finish tag) and a finish tag start + cost/weight,
 * where cost is the function's recent mean service time; the run with the smallest start tag among
 * tenants under their concurrency cap goes next. Under overload each tenant's share of worker time
 * follows its weight; an idle tenant banks no credit (V moves on). Event-driven: nothing runs while idle.
 */
import { RoamError } from '../errors.ts';
import type { TenantTable } from './tenants.ts';

interface Job {
  start: number;
  cost: number;
  run: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface TenantQueue {
  jobs: Job[];
  head: number;
  lastFinish: number;
  inFlight: number;
  /** Service time granted so far, ms (for stats and the fairness benchmark). */
  served: number;
  completed: number;
  rejected: number;
}

export interface TenantStats {
  queued: number;
  inFlight: number;
  completed: number;
  rejected: number;
  servedMs: number;
}

export class FairScheduler {
  private readonly queues = new Map<string, TenantQueue>();
  private vtime = 0;
  private inFlight = 0;

  /** `capacity`: runs handed to the workers at once (a little above the worker count keeps them fed). */
  constructor(readonly capacity: number, private readonly tenants: TenantTable) {}

  private queue(tenant: string): TenantQueue {
    let q = this.queues.get(tenant);
    if (!q) {
      q = { jobs: [], head: 0, lastFinish: 0, inFlight: 0, served: 0, completed: 0, rejected: 0 };
      this.queues.set(tenant, q);
    }
    return q;
  }

  /**
   * Queues `run` for `tenant`; `costMs` is the expected service time. Rejects with E_OVERLOAD (429)
   * when the tenant's queue is full.
   */
  submit<T>(tenant: string, costMs: number, run: () => Promise<T>): Promise<T> {
    const cfg = this.tenants.get(tenant);
    const q = this.queue(tenant);
    if (q.jobs.length - q.head >= cfg.maxQueue) {
      q.rejected++;
      return Promise.reject(new RoamError('E_OVERLOAD', `tenant '${tenant}' has ${cfg.maxQueue} requests waiting; try again later`));
    }
    const start = Math.max(this.vtime, q.lastFinish);
    const cost = Math.max(costMs, 0.001);
    q.lastFinish = start + cost / cfg.weight;
    return new Promise<T>((resolve, reject) => {
      q.jobs.push({ start, cost, run, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.capacity) {
      let best: TenantQueue | null = null;
      let bestName = '';
      for (const [name, q] of this.queues) {
        if (q.head >= q.jobs.length) continue;
        if (q.inFlight >= this.tenants.get(name).maxConcurrency) continue;
        if (!best || q.jobs[q.head]!.start < best.jobs[best.head]!.start) {
          best = q;
          bestName = name;
        }
      }
      if (!best) return;
      const job = best.jobs[best.head]!;
      best.jobs[best.head++] = undefined as unknown as Job;
      if (best.head > 1024 && best.head * 2 > best.jobs.length) {
        best.jobs = best.jobs.slice(best.head);
        best.head = 0;
      }
      this.vtime = Math.max(this.vtime, job.start);
      this.dispatch(bestName, best, job);
    }
  }

  private dispatch(_name: string, q: TenantQueue, job: Job): void {
    this.inFlight++;
    q.inFlight++;
    const t0 = performance.now();
    const done = () => {
      this.inFlight--;
      q.inFlight--;
      q.completed++;
      q.served += performance.now() - t0;
      this.pump();
    };
    job.run().then(
      (v) => (done(), job.resolve(v)),
      (e) => (done(), job.reject(e)),
    );
  }

  stats(): Record<string, TenantStats> {
    const out: Record<string, TenantStats> = {};
    for (const [name, q] of this.queues) out[name] = { queued: q.jobs.length - q.head, inFlight: q.inFlight, completed: q.completed, rejected: q.rejected, servedMs: Math.round(q.served * 1000) / 1000 };
    return out;
  }
}
