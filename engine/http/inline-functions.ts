/**
 * The gateway's network thread runs tiny functions itself, as the places' inline lane does for handlers
 * (engine/places/inline-lane.ts): a plan measured on the workers at under `maxNs` per run runs right where
 * the request was parsed — no task message, no worker wake-up, no second thread. On two cores this is
 * what lets a trivial function answer at a bare HTTP server's pace.
 *
 * Safety: only plans measured `warmRuns` times on the workers qualify, with no remote step and a fuel
 * budget of at most `maxFuel` (fuel bounds every run, here as in a worker; the watchdog cannot reach this
 * thread, so a plan allowed to burn more stays on the workers); a run that comes out slow raises the
 * plan's average past `maxNs` and sends it back to the workers; at most `turnBudgetNs` of inline work
 * happens per event-loop turn, so a burst cannot hold the socket thread.
 */
import { performance } from 'node:perf_hooks';
import type { PayloadPool } from '../chains/payload-pool.ts';
import type { EngineLimits } from '../verify/verify.ts';
import { PlanRunner } from './plan-runner.ts';
import type { BundleRef, PlanDef, RunResult, RunTask } from './task.ts';

export interface InlineFunctionOptions {
  /** Largest measured time per run (EWMA) of a plan that may run on the network thread, ns; 0 turns it off. */
  maxNs?: number;
  /** Worker runs of a plan measured before it may run here. */
  warmRuns?: number;
  /** Inline work per event-loop turn, ns. */
  turnBudgetNs?: number;
  /** Largest fuel budget of any function in a plan that may run here. */
  maxFuel?: number;
}

interface Cost {
  ns: number;
  runs: number;
  /** Runs here so far: the first few pay V8's lazy compilation of each function on this thread. */
  inlineRuns: number;
  /** False once the plan was found unfit (a remote step, a large fuel budget, a bundle gone). */
  fit: boolean;
}

/** Inline runs not counted in a plan's cost (lazy per-function compilation on first calls). */
const SETTLE = 8;
/** A run counts as at most this many times its plan's average, plus FLOOR_NS (see `add`). */
const OUTLIER = 4;
const FLOOR_NS = 10_000;

export class InlineFunctions {
  private readonly runner: PlanRunner;
  private readonly costs = new Map<number, Cost>();
  private readonly maxNs: number;
  private readonly warmRuns: number;
  private readonly turnBudgetNs: number;
  private readonly maxFuel: number;
  private turnNs = 0;
  private turnReset = false;
  /** Runs answered here (stats). */
  runs = 0;

  constructor(limits: EngineLimits, pool: PayloadPool, opts: InlineFunctionOptions = {}) {
    this.runner = new PlanRunner(limits, pool);
    this.maxNs = opts.maxNs ?? 100_000;
    this.warmRuns = opts.warmRuns ?? 32;
    this.turnBudgetNs = opts.turnBudgetNs ?? 1_000_000;
    this.maxFuel = opts.maxFuel ?? 10_000_000;
  }

  /** Records a worker's run of a plan: its hops' guest time. */
  observe(def: PlanDef, r: RunResult): void {
    if (!r.ok || this.maxNs === 0 || !r.hops) return;
    let ms = 0;
    for (let i = 2; i < r.hops.length; i += 4) ms += r.hops[i]!;
    const c = this.costs.get(def.id);
    if (!c) {
      if (this.costs.size >= 4096) this.costs.delete(this.costs.keys().next().value!);
      this.costs.set(def.id, { ns: ms * 1e6, runs: 1, inlineRuns: 0, fit: def.remote.length === 0 });
    } else add(c, ms * 1e6);
  }

  /**
   * True when `tryRun` would run the plan here now and answer: measured fit, already compiled on this
   * thread, turn budget left. Changes nothing (the gateway's fast path asks before it commits).
   */
  ready(def: PlanDef): boolean {
    if (this.turnNs >= this.turnBudgetNs) return false;
    const c = this.costs.get(def.id);
    return c?.fit === true && c.runs >= this.warmRuns && c.ns <= this.maxNs && this.runner.plan(def.id) !== undefined;
  }

  /** Runs the plan here when it qualifies and answers; null: send it to a worker. */
  tryRun(def: PlanDef, input: RunTask['input'], refs: (hash: string) => BundleRef | undefined): RunResult | null {
    if (this.turnNs >= this.turnBudgetNs || input === null) return null;
    const c = this.costs.get(def.id);
    if (c === undefined || !c.fit || c.runs < this.warmRuns || c.ns > this.maxNs) return null;
    const plan = this.runner.plan(def.id) ?? this.prepare(def, c, refs);
    if (!plan) return null;
    if (!this.turnReset) {
      this.turnReset = true;
      setImmediate(() => {
        this.turnNs = 0;
        this.turnReset = false;
      });
    }
    const t0 = performance.now();
    const { result } = this.runner.execute({ input }, plan, true);
    const ns = (performance.now() - t0) * 1e6;
    // A run the OS descheduled is charged to the turn as the plan's usual cost, at most (see `add`).
    this.turnNs += c.inlineRuns < SETTLE ? ns : cap(c, ns);
    this.runs++;
    if (c.inlineRuns++ >= SETTLE) add(c, ns);
    return result;
  }

  /** Installs the plan's bundles here and compiles it, once; null (and unfit for good) when it cannot run here. */
  private prepare(def: PlanDef, c: Cost, refs: (hash: string) => BundleRef | undefined): ReturnType<PlanRunner['plan']> {
    try {
      for (const h of new Set(Object.values(def.targets))) {
        const ref = refs(h);
        if (!ref || ref.manifest.limits.fuel > this.maxFuel) throw new Error('unfit');
        this.runner.install(ref);
      }
      return this.runner.compile(def);
    } catch {
      c.fit = false;
      return undefined;
    }
  }
}

/**
 * One more measured run into a plan's cost (EWMA), counted as at most OUTLIER times the average so far.
 * A wall-clock sample includes the OS descheduling the thread: at load 17 on two cores a 5 µs run of
 * hello `greet` sometimes measured several ms, which lifted the average past `maxNs` at once and sent
 * the plan to the workers for the next tens of runs, each a thread hand-off waiting for a core (bench:http
 * fell to 125–420 req/s, p50 34–87 ms, while a bare server did 5k). A plan that really got slower still
 * leaves: its average grows 1.6x (+2 µs) per run (5 µs → past 100 µs in 6 runs).
 */
function add(c: Cost, ns: number): void {
  c.ns += 0.2 * (cap(c, ns) - c.ns);
  c.runs++;
}

/** A sample as counted: OUTLIER times the average at most, plus a floor so that an average of ~0 can grow. */
const cap = (c: Cost, ns: number): number => Math.min(ns, OUTLIER * c.ns + FLOOR_NS);
