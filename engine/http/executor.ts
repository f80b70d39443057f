/**
 * Runs functions and chains off the gateway thread on the host workers — the same pool that runs
 * handler messages (engine/places/host-pool.ts) — so a slow function never blocks the server, and
 * functions and handlers share the host cores instead of competing from two pools. Fuel bounds every
 * call; the watchdog (terminating the run's worker, which the pool replaces) is the backstop for a call
 * that outlives `timeoutMs` anyway. Tiny functions run on this thread instead (inline-functions.ts).
 */
import { availableParallelism } from 'node:os';
import { randomUUID } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import { HostPool } from '../places/host-pool.ts';
import { PayloadPool } from '../chains/payload-pool.ts';
import type { EngineLimits } from '../verify/verify.ts';
import type { BundleRef, PlanDef, RunResult, RunTask, WarmAck, WarmMessage, WorkerInit, WorkerReply } from './task.ts';
import { InlineFunctions, type InlineFunctionOptions } from './inline-functions.ts';

/** Start-time slots: bounds the runs in flight at once (the scheduler keeps far fewer). */
const CLOCKS = 4096;

export interface ExecutorOptions {
  /** The host workers to run on (the server's one pool); without it the executor starts its own. */
  host?: HostPool;
  /** Workers of the executor's own pool (when `host` is not given). */
  threads?: number;
  /** Watchdog deadline per run (default 10 s). */
  timeoutMs?: number;
  limits: EngineLimits;
  pool?: PayloadPool;
  /** Tiny functions on the calling thread (inline-functions.ts); false turns it off. */
  inline?: InlineFunctionOptions | false;
}

export class Executor {
  readonly pool: PayloadPool;
  readonly threads: number;
  private readonly host: HostPool;
  /** True when the pool is this executor's own (closed with it). */
  private readonly ownsHost: boolean;
  private readonly timeoutMs: number;
  timeouts = 0;
  private readonly clocks: BigInt64Array;
  private readonly freeClocks: number[] = [];
  /** Runs sent with the full plan, by plan id. */
  private readonly sends = new Map<number, number>();
  /** The last deploys' warm messages, sent again to a worker that starts later. */
  private readonly recentWarm: WarmMessage[] = [];
  /** Plan id → worker threads that said they hold it ready (instantiated and compiled) after `warm`. */
  private readonly warmed = new Map<number, Set<number>>();
  /** Reaches every worker at once (piscina cannot address a given worker): see `warm`. */
  private readonly warmChannel: BroadcastChannel;
  /** Tiny functions run on this thread (null: off). */
  readonly inline: InlineFunctions | null;
  /** Versions retired lately (Executor.forget), for runs planned before their swap. */
  private readonly retired = new Map<string, BundleRef>();
  /** What each worker thread last said it holds (instances, plans), by thread id. */
  private readonly workerMemory = new Map<number, { deployments: number; plans: number }>();

  constructor(opts: ExecutorOptions) {
    this.pool = opts.pool ?? PayloadPool.create();
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.inline = opts.inline === false || opts.inline?.maxNs === 0 ? null : new InlineFunctions(opts.limits, this.pool, opts.inline);
    this.clocks = new BigInt64Array(new SharedArrayBuffer(16 * CLOCKS));
    for (let i = CLOCKS - 1; i >= 0; i--) this.freeClocks.push(i);
    const warm = `roam-warm-${randomUUID()}`;
    this.warmChannel = new BroadcastChannel(warm);
    this.warmChannel.unref();
    this.warmChannel.onmessage = (e: unknown) => {
      const m = (e as { data: WarmAck | WarmMessage }).data;
      if (!('ack' in m)) return;
      if (m.hello) for (const w of this.recentWarm) this.warmChannel.postMessage(w);
      if (m.memory) {
        this.workerMemory.delete(m.ack); // latest last; a terminated worker's entry ages out
        this.workerMemory.set(m.ack, m.memory);
        if (this.workerMemory.size > 4 * this.threads) this.workerMemory.delete(this.workerMemory.keys().next().value!);
      }
      for (const id of m.plans) {
        let ws = this.warmed.get(id);
        if (!ws) {
          this.warmed.set(id, (ws = new Set()));
          if (this.warmed.size > 4096) this.warmed.delete(this.warmed.keys().next().value!);
        }
        ws.add(m.ack);
      }
    };
    const init: WorkerInit = { pool: this.pool.init, limits: opts.limits, clocks: this.clocks.buffer as SharedArrayBuffer, warm };
    this.ownsHost = !opts.host;
    // Its own pool has no handler traffic: the places' inline lane is off there.
    this.host = opts.host ?? new HostPool({ workers: Math.max(1, opts.threads ?? availableParallelism()), inline: { maxNs: 0 } });
    this.threads = this.host.workers;
    this.host.installTasks({ url: new URL('./worker.ts', import.meta.url).href, init });
  }

  /**
   * Runs a plan on an input; resolves with the worker's result, or an E_TIMEOUT failure when the watchdog
   * fired. A worker that has not seen the plan (or its bundles) says so and gets them once, so the common
   * task is three small fields. The deadline counts from when the worker starts the run (it stamps a
   * shared clock slot), so time queued or waiting for a replacement worker is not held against the function.
   */
  async run(def: PlanDef, input: RunTask['input'], refs: (hash: string) => BundleRef | undefined, resume?: RunTask['resume']): Promise<RunResult> {
    if (this.inline && resume === undefined) {
      const r = this.inline.tryRun(def, input, refs);
      if (r) return r;
    }
    const r = await this.onWorker(def, input, refs, resume);
    this.inline?.observe(def, r);
    return r;
  }

  private async onWorker(def: PlanDef, input: RunTask['input'], refs: (hash: string) => BundleRef | undefined, resume?: RunTask['resume']): Promise<RunResult> {
    const fn = def.steps[0] ?? '';
    // A plan's first runs (one per worker, likely) carry it and its bundles: a fresh deploy's first
    // reply then costs one trip to a worker, not two.
    // Not once every worker has acked the plan's warm-up: the task is then just the plan id (a worker
    // started since answers `miss` and gets the plan).
    const fresh = (this.sends.get(def.id) ?? 0) < this.threads && this.warmedBy(def.id) < this.threads;
    if (fresh) {
      this.sends.set(def.id, (this.sends.get(def.id) ?? 0) + 1);
      if (this.sends.size > 4096) this.sends.delete(this.sends.keys().next().value!);
    }
    const all = fresh ? this.refsOf(def, null, refs) : null;
    const more = resume ? { resume } : {};
    let reply = await this.once(all ? { plan: def.id, def, refs: all, input, ...more } : { plan: def.id, input, ...more }, def);
    if (!('miss' in reply)) return reply;
    const sent = this.refsOf(def, reply.miss, (h) => refs(h) ?? this.retired.get(h));
    if (!sent) return { ok: false, code: 'E_NOT_FOUND', message: 'a bundle this run needs was removed meanwhile', fn, appStatus: null, hops: null };
    reply = await this.once({ plan: def.id, def, refs: sent, input, ...more }, def);
    if ('miss' in reply) return { ok: false, code: 'E_WORKER', message: 'worker could not load a bundle it was sent', fn, appStatus: null, hops: null };
    return reply;
  }

  /**
   * Hands freshly deployed plans and their bundles to every worker now (one broadcast, no reply awaited):
   * each instantiates the bundles and compiles the plans between tasks, so the first invocation finds a
   * warm instance. Runs still carry the plan the first times (cheap), so a worker that has not got to
   * the broadcast yet, or one started later, needs no second trip.
   */
  warm(defs: PlanDef[], refs: (hash: string) => BundleRef | undefined): void {
    const all: Record<string, BundleRef> = {};
    const ok: PlanDef[] = [];
    for (const def of defs) {
      const r = this.refsOf(def, null, refs);
      if (!r) continue;
      Object.assign(all, r);
      ok.push(def);
    }
    if (ok.length === 0) return;
    const msg: WarmMessage = { defs: ok, refs: all };
    this.recentWarm.push(msg);
    if (this.recentWarm.length > 16) this.recentWarm.shift();
    this.warmChannel.postMessage(msg);
  }

  /**
   * A bundle version no deployed bundle serves any more: every worker (and the inline lane) drops its
   * instance and the plans calling it, and the recent warm messages kept for late workers forget it.
   */
  forget(hash: string, ref?: BundleRef): void {
    // A run planned before the swap may still be on its way to a worker that has dropped the version: it
    // gets it again from here (the last few retired versions), rather than failing.
    if (ref) {
      this.retired.set(hash, ref);
      if (this.retired.size > 16) this.retired.delete(this.retired.keys().next().value!);
    }
    this.inline?.forget(hash);
    for (let i = this.recentWarm.length - 1; i >= 0; i--) {
      const w = this.recentWarm[i]!;
      if (!(hash in w.refs)) continue;
      delete w.refs[hash];
      w.defs = w.defs.filter((d) => !Object.values(d.targets).includes(hash));
      if (w.defs.length === 0) this.recentWarm.splice(i, 1);
    }
    this.warmChannel.postMessage({ defs: [], refs: {}, drop: [hash] } satisfies WarmMessage);
  }

  /** Instances and plans held by the function workers (as they last reported) and the inline lane. */
  memory(): { workers: Array<{ deployments: number; plans: number }>; inline: { deployments: number; plans: number } | null } {
    return { workers: [...this.workerMemory.values()], inline: this.inline?.memory() ?? null };
  }

  /** How many workers reported plan `id` ready after a `warm` (for stats and tests). */
  warmedBy(id: number): number {
    return this.warmed.get(id)?.size ?? 0;
  }

  /** The bundles `hashes` name (all of the plan's when null); null when one was removed meanwhile. */
  private refsOf(def: PlanDef, hashes: string[] | null, refs: (hash: string) => BundleRef | undefined): Record<string, BundleRef> | null {
    const out: Record<string, BundleRef> = {};
    for (const h of hashes ?? new Set(Object.values(def.targets))) {
      const ref = refs(h);
      if (!ref) return null;
      out[h] = ref;
    }
    return out;
  }

  private async once(task: Omit<RunTask, 'clock'>, def: PlanDef): Promise<WorkerReply> {
    const clock = this.freeClocks.pop();
    if (clock === undefined) throw new Error('executor: more runs in flight than clock slots');
    try {
      for (let attempt = 0; ; attempt++) {
        Atomics.store(this.clocks, 2 * clock, 0n);
        const dog = new Watchdog(this.clocks, clock, this.timeoutMs, this.host);
        try {
          return (await this.host.runTask({ ...task, clock })) as WorkerReply;
        } catch (e) {
          if (dog.fired) {
            this.timeouts++;
            return { ok: false, code: 'E_TIMEOUT', message: `'${def.route ?? def.steps[0]}' ran past the ${this.timeoutMs} ms watchdog and its worker was terminated`, fn: def.steps[0] ?? '', appStatus: null, hops: null };
          }
          // Waiting behind another run on a worker that died (a watchdog's kill, a crash): it never started,
          // so it runs elsewhere, as a queued handler message is re-routed.
          if (Atomics.load(this.clocks, 2 * clock) === 0n && attempt < 2) continue;
          return { ok: false, code: 'E_WORKER', message: `worker failed: ${(e as Error).message}`, fn: def.steps[0] ?? '', appStatus: null, hops: null };
        } finally {
          dog.stop();
        }
      }
    } finally {
      this.freeClocks.push(clock);
    }
  }

  /** Runs waiting for a worker (beyond one running per worker). */
  get queued(): number {
    return Math.max(0, this.host.tasksInFlight - this.threads);
  }

  async close(): Promise<void> {
    this.warmChannel.close();
    if (this.ownsHost) await this.host.close();
  }
}

/**
 * One run's watchdog. No AbortController per run (measurably costly at this rate): the worker stamps its
 * start time and thread id in the run's clock slot; an overdue run's worker is terminated directly and
 * the pool replaces it. A class, not a closure per run: tsx names each closure it creates (engine/README.md).
 */
class Watchdog {
  fired = false;
  private timer: NodeJS.Timeout;
  constructor(private readonly clocks: BigInt64Array, private readonly clock: number, private readonly timeoutMs: number, private readonly host: HostPool) {
    this.timer = setTimeout(() => this.check(), timeoutMs);
  }
  private check(): void {
    const started = Number(Atomics.load(this.clocks, 2 * this.clock));
    const left = started === 0 ? this.timeoutMs : started + this.timeoutMs - Date.now();
    if (started !== 0 && left <= 0) {
      const tid = Number(Atomics.load(this.clocks, 2 * this.clock + 1));
      if (this.host.terminate(tid)) {
        this.fired = true;
        return;
      }
    }
    this.timer = setTimeout(() => this.check(), Math.max(left, 1));
  }
  stop(): void {
    clearTimeout(this.timer);
  }
}
