import { RoamError } from '../../errors.ts';
import type { DeviceDispatch, GpuDevice } from '../device.ts';
import type { FunctionQuota, SchedulerOptions, SchedulerStats } from './types.ts';
import { LatencyRing, SlidingWindow } from './window.ts';
import { Buckets, SECONDS_BUCKETS } from '../../observe/metrics.ts';

export type { FunctionQuota, FunctionStats, SchedulerOptions, SchedulerStats } from './types.ts';

interface Job {
  acct: Account;
  d: DeviceDispatch;
  work: number;
  seq: number;
  enqueued: number;
  resolve(): void;
  reject(e: unknown): void;
}

class Account {
  readonly queue: Job[] = [];
  inFlight = 0;
  inFlightEstMs = 0;
  submitted = 0;
  completed = 0;
  failed = 0;
  refused = 0;
  totalMs = 0;
  /** Time dispatches waited in the queue before reaching the device, ms (all time). */
  queuedMs = 0;
  readonly used: SlidingWindow;
  readonly lat = new LatencyRing();
  /** Queue + device time per dispatch, seconds, since registration (/metrics' histogram). */
  readonly latency = new Buckets(SECONDS_BUCKETS);
  constructor(readonly id: string, public quota: Required<FunctionQuota>, windowMs: number) {
    this.used = new SlidingWindow(windowMs);
  }
}

/**
 * Shares one device between functions. Each function gets a share of device time over a sliding
 * window (weighted fair: the waiting function with the least used-time / share goes next); a
 * function over its share queues while others under theirs wait, and runs anyway when they don't
 * (work-conserving). Under contention a function holds at most floor(share × slots) + 1 slots at once
 * (the spatial part). A function's queued dispatches of the same kernel and shape are batched into
 * one device task while its oldest waiting one stays within the function's latency target.
 */
export class GpuScheduler {
  readonly policy: 'share' | 'fcfs';
  readonly windowMs: number;
  private readonly maxBatch: number;
  private readonly workConserving: boolean;
  private readonly accounts = new Map<string, Account>();
  /** EWMA of ms per work unit, per kernel. */
  private readonly msPerWork = new Map<number, number>();
  private readonly deviceUsed: SlidingWindow;
  private running = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private batches = 0;
  private dispatches = 0;
  private closed = false;
  private readonly drained: Array<() => void> = [];

  constructor(private readonly device: GpuDevice, opts: SchedulerOptions = {}) {
    this.policy = opts.policy ?? 'share';
    this.windowMs = opts.windowMs ?? 1000;
    this.maxBatch = this.policy === 'fcfs' ? 1 : Math.max(1, opts.maxBatch ?? 32);
    this.workConserving = opts.workConserving ?? true;
    this.deviceUsed = new SlidingWindow(this.windowMs);
  }

  get slots(): number {
    return this.device.info.slots;
  }

  /** Adds a function or updates its quota. */
  register(id: string, q: FunctionQuota): void {
    if (!(q.share > 0 && q.share <= 1)) throw new RoamError('E_GPU_QUOTA', `gpu share for '${id}' must be in (0, 1], got ${q.share}`);
    if (q.latencyMs !== undefined && !(q.latencyMs > 0 && Number.isFinite(q.latencyMs))) throw new RoamError('E_GPU_QUOTA', `gpu latencyMs for '${id}' must be a positive number of ms, got ${q.latencyMs}`);
    const quota = { share: q.share, latencyMs: q.latencyMs ?? 20, maxQueue: q.maxQueue ?? 4096 };
    const a = this.accounts.get(id);
    if (a) a.quota = quota;
    else this.accounts.set(id, new Account(id, quota, this.windowMs));
  }

  /**
   * Changes a registered function's share and/or latency target while it runs. The next slot that
   * frees is handed out under the new share (picks compare used time / share), so achieved shares
   * follow within one window, as the window's usage ages out.
   */
  setQuota(id: string, q: { share?: number; latencyMs?: number }): Required<FunctionQuota> {
    const a = this.accounts.get(id);
    if (!a) throw new RoamError('E_GPU_FUNCTION', `function '${id}' is not registered with the gpu scheduler`);
    this.register(id, { share: q.share ?? a.quota.share, latencyMs: q.latencyMs ?? a.quota.latencyMs, maxQueue: a.quota.maxQueue });
    this.pump();
    return { ...a.quota };
  }

  has(id: string): boolean {
    return this.accounts.has(id);
  }

  /** Queues a checked dispatch; resolves when it has run. */
  submit(id: string, d: DeviceDispatch, work: number): Promise<void> {
    const acct = this.accounts.get(id);
    if (!acct) return Promise.reject(new RoamError('E_GPU_FUNCTION', `function '${id}' is not registered with the gpu scheduler`));
    if (this.closed) return Promise.reject(new RoamError('E_GPU_CLOSED', 'the gpu scheduler is closed'));
    if (acct.queue.length >= acct.quota.maxQueue) {
      acct.refused++;
      return Promise.reject(new RoamError('E_GPU_QUEUE_FULL', `function '${id}' already has ${acct.queue.length} gpu dispatches queued (over its ${acct.quota.share} share under load); refusing more`));
    }
    acct.submitted++;
    return new Promise<void>((resolve, reject) => {
      acct.queue.push({ acct, d, work: Math.max(1, work), seq: this.seq++, enqueued: performance.now(), resolve, reject });
      this.pump();
    });
  }

  private estimate(kernel: number, work: number): number {
    return (this.msPerWork.get(kernel) ?? 0) * work;
  }

  private key(a: Account, now: number): number {
    return (a.used.sum(now) + a.inFlightEstMs) / a.quota.share;
  }

  /**
   * Slots a function may hold while others wait: the smallest whole number above share × slots,
   * so a function can always reach its share (an exact cap would leave it no slack to catch up).
   */
  private spatialCap(a: Account): number {
    return Math.floor(a.quota.share * this.slots) + 1;
  }

  private pickFcfs(): Account | undefined {
    let best: Account | undefined;
    for (const a of this.accounts.values()) if (a.queue.length && (!best || a.queue[0]!.seq < best.queue[0]!.seq)) best = a;
    return best;
  }

  private pickShare(now: number): Account | undefined {
    const waiting = [...this.accounts.values()].filter((a) => a.queue.length > 0);
    if (waiting.length === 0) return undefined;
    const contended = waiting.length > 1;
    const spatialOk = waiting.filter((a) => !contended || a.inFlight < this.spatialCap(a));
    const eligible = spatialOk.length ? spatialOk : waiting; // a free slot is never left idle by the spatial cap
    const capacity = this.windowMs * this.slots;
    const under = eligible.filter((a) => a.used.sum(now) + a.inFlightEstMs < a.quota.share * capacity);
    const pool = under.length ? under : this.workConserving ? eligible : [];
    let best: Account | undefined;
    let bestKey = Infinity;
    for (const a of pool) {
      const k = this.key(a, now);
      if (k < bestKey) (best = a), (bestKey = k);
    }
    if (!best && !this.timer) {
      // Everyone waiting is over quota and we may not exceed it: look again when the window has slid.
      this.timer = setTimeout(() => ((this.timer = undefined), this.pump()), Math.max(1, this.windowMs / 20));
    }
    return best;
  }

  /**
   * Takes the head job of `a` (its oldest) and its other queued jobs of the same kernel and shape, while
   * the oldest would still finish within the function's latency target: its wait so far plus the
   * batch's estimated device time. Only one function's jobs share a batch, so batching never moves
   * device time between functions. A kernel with no estimate yet runs alone once to get one.
   */
  private gather(a: Account, now: number): Job[] {
    const head = a.queue.shift()!;
    const batch = [head];
    const perWork = this.msPerWork.get(head.d.kernel);
    if (this.maxBatch === 1 || perWork === undefined) return batch;
    const budget = a.quota.latencyMs - (now - head.enqueued);
    let est = perWork * head.work;
    // Same-shape jobs anywhere in the queue: queued dispatches are independent (a caller that needs
    // one's result waits for it before submitting the next), so taking them out of order is safe.
    for (let i = 0; i < a.queue.length && batch.length < this.maxBatch; ) {
      const j = a.queue[i]!;
      if (!sameShape(j.d, head.d)) {
        i++;
        continue;
      }
      const je = perWork * j.work;
      if (est + je > budget) break;
      batch.push(...a.queue.splice(i, 1));
      est += je;
    }
    return batch;
  }

  private pump(): void {
    while (!this.closed && this.running < this.slots) {
      const now = performance.now();
      const a = this.policy === 'fcfs' ? this.pickFcfs() : this.pickShare(now);
      if (!a) return;
      const batch = this.gather(a, now);
      void this.launch(batch);
    }
  }

  private async launch(batch: Job[]): Promise<void> {
    this.running++;
    const kernel = batch[0]!.d.kernel;
    const work = batch.reduce((s, j) => s + j.work, 0);
    const members = new Map<Account, number>();
    for (const j of batch) {
      const est = this.estimate(kernel, j.work);
      j.acct.inFlightEstMs += est;
      members.set(j.acct, (members.get(j.acct) ?? 0) + est);
    }
    for (const m of members.keys()) m.inFlight++;
    const t0 = performance.now();
    for (const j of batch) j.acct.queuedMs += t0 - j.enqueued;
    let error: unknown;
    let ms = 0;
    try {
      ms = await this.device.run(batch.map((j) => j.d));
    } catch (e) {
      error = e;
    }
    const t1 = performance.now();
    if (error !== undefined) ms = t1 - t0;
    for (const [m, est] of members) {
      m.inFlight--;
      m.inFlightEstMs = Math.max(0, m.inFlightEstMs - est);
    }
    // Device time is split by work so a function pays for its part of a shared batch.
    for (const j of batch) {
      j.acct.used.add(t1, (ms * j.work) / work);
      j.acct.totalMs += (ms * j.work) / work;
    }
    this.deviceUsed.add(t1, ms);
    this.batches++;
    this.dispatches += batch.length;
    if (error === undefined) {
      const prev = this.msPerWork.get(kernel);
      const obs = ms / work;
      this.msPerWork.set(kernel, prev === undefined ? obs : prev * 0.8 + obs * 0.2);
      for (const j of batch) this.settle(j, t1);
    } else if (batch.length === 1) {
      this.settle(batch[0]!, t1, error);
    } else {
      // One bad member must not fail the others: run each alone to find out which one failed.
      await Promise.all(batch.map(async (j) => {
        try {
          await this.device.run([j.d]);
          this.settle(j, performance.now());
        } catch (e) {
          this.settle(j, performance.now(), e);
        }
      }));
    }
    this.running--;
    for (const r of this.drained.splice(0)) r();
    // Pump after the settled callers had a turn to submit again: pumping now would hand the slot
    // to whoever still has work queued, not to whoever is most behind its share.
    setImmediate(() => this.pump());
  }

  private settle(j: Job, now: number, error?: unknown): void {
    j.acct.lat.add(now - j.enqueued);
    j.acct.latency.observe((now - j.enqueued) / 1000);
    if (error === undefined) {
      j.acct.completed++;
      j.resolve();
    } else {
      j.acct.failed++;
      j.reject(error instanceof RoamError ? error : new RoamError('E_GPU_DISPATCH', `gpu dispatch failed: ${(error as Error)?.message ?? String(error)}`, { cause: error }));
    }
  }

  /** Forgets a function; its queued dispatches fail. */
  unregister(id: string): void {
    const a = this.accounts.get(id);
    if (!a) return;
    for (const j of a.queue.splice(0)) j.reject(new RoamError('E_GPU_FUNCTION', `function '${id}' was removed from the gpu scheduler`));
    this.accounts.delete(id);
  }

  stats(): SchedulerStats {
    const now = performance.now();
    const total = [...this.accounts.values()].reduce((s, a) => s + a.used.sum(now), 0);
    const capacity = this.windowMs * this.slots;
    return {
      policy: this.policy,
      windowMs: this.windowMs,
      slots: this.slots,
      utilization: Math.min(1, this.deviceUsed.sum(now) / capacity),
      batches: this.batches,
      dispatches: this.dispatches,
      functions: [...this.accounts.values()].map((a) => {
        const used = a.used.sum(now);
        return {
          id: a.id, share: a.quota.share, achievedShare: total > 0 ? used / total : 0, usedMs: used, totalMs: a.totalMs, queuedMs: a.queuedMs, latencyMs: a.quota.latencyMs,
          overQuota: used >= a.quota.share * capacity, queued: a.queue.length, inFlight: a.inFlight,
          submitted: a.submitted, completed: a.completed, failed: a.failed, refused: a.refused,
          p50Ms: a.lat.percentile(50), p99Ms: a.lat.percentile(99),
          latency: { counts: Array.from(a.latency.counts), sumSeconds: a.latency.sum },
        };
      }),
    };
  }

  /** Fails queued work, stops scheduling and resolves once running batches have finished. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const a of this.accounts.values()) for (const j of a.queue.splice(0)) j.reject(new RoamError('E_GPU_CLOSED', 'the gpu scheduler was closed'));
    while (this.running > 0) await new Promise<void>((r) => this.drained.push(r));
  }
}

/** Same kernel, same parameters (shape): what may share a batch. */
function sameShape(x: DeviceDispatch, y: DeviceDispatch): boolean {
  return x.kernel === y.kernel && x.params.length === y.params.length && x.params.every((p, i) => p === y.params[i]);
}
