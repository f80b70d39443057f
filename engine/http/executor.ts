/**
 * Runs functions and chains off the gateway thread in a piscina worker pool, so a slow function never
 * blocks the server. Fuel bounds every call; the watchdog (aborting the task, which terminates its
 * worker) is the backstop for a call that outlives `timeoutMs` anyway.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { PayloadPool } from '../chains/payload-pool.ts';
import type { EngineLimits } from '../verify/verify.ts';
import type { RunResult, RunTask, WorkerInit } from './task.ts';

export interface ExecutorOptions {
  threads?: number;
  /** Watchdog deadline per run (default 10 s). */
  timeoutMs?: number;
  limits: EngineLimits;
  pool?: PayloadPool;
}

export class Executor {
  readonly pool: PayloadPool;
  readonly threads: number;
  private readonly piscina: Piscina;
  private readonly timeoutMs: number;
  timeouts = 0;

  constructor(opts: ExecutorOptions) {
    this.pool = opts.pool ?? PayloadPool.create();
    this.threads = Math.max(1, opts.threads ?? availableParallelism());
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    const workerData: WorkerInit = { pool: this.pool.init, limits: opts.limits };
    this.piscina = new Piscina({
      filename: new URL('./worker-boot.mjs', import.meta.url).href,
      minThreads: this.threads,
      maxThreads: this.threads,
      // Calls are synchronous: one task per worker at a time; queueing happens in the tenant scheduler.
      concurrentTasksPerWorker: 1,
      idleTimeout: 2 ** 31 - 1,
      workerData,
    });
  }

  /** Runs a task; resolves with the worker's result, or an E_TIMEOUT failure when the watchdog fired. */
  async run(task: RunTask): Promise<RunResult> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), this.timeoutMs);
    try {
      return (await this.piscina.run(task, { signal: ac.signal })) as RunResult;
    } catch (e) {
      if (ac.signal.aborted) {
        this.timeouts++;
        return { ok: false, code: 'E_TIMEOUT', message: `'${task.route ?? task.steps[0]}' ran past the ${this.timeoutMs} ms watchdog and its worker was terminated`, fn: task.steps[0] ?? '', appStatus: null, hops: [] };
      }
      return { ok: false, code: 'E_WORKER', message: `worker failed: ${(e as Error).message}`, fn: task.steps[0] ?? '', appStatus: null, hops: [] };
    } finally {
      clearTimeout(timer);
    }
  }

  get queued(): number {
    return this.piscina.queueSize;
  }

  async close(): Promise<void> {
    await this.piscina.close({ force: true });
  }
}
