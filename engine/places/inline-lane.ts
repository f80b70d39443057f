import { SlotRunner, type BundleInfo, type Executed } from './slot-runner.ts';

export interface InlineOptions {
  /** Largest measured service time (EWMA) of a handler that may run on the network thread, ns. 0 turns inlining off. */
  maxNs?: number;
  /** Host runs of a handler measured before it may be inlined. */
  warmRuns?: number;
  /** Time spent inline per event-loop turn, ns; past it the turn's messages go to the workers, so a burst cannot hold the socket thread. */
  turnBudgetNs?: number;
}

interface Cost {
  ns: number;
  runs: number;
  /** Runs here so far: the first few pay V8's lazy compilation of each function on this thread. */
  inlineRuns: number;
}

/** Inline runs of a handler not counted in its cost (lazy per-function compilation on first calls). */
const SETTLE = 8;

/**
 * The server's network thread is a host core too. A message whose handler is known to be tiny (measured
 * service time under `maxNs`) runs right there when the host workers hold nothing, and its reply goes
 * into the same socket write as the request's neighbours: no ring, no wake-up, no second thread. This is
 * what removes two thread crossings per request for small kv-style handlers (Redis answers on the
 * thread that reads the socket for the same reason).
 *
 * Safety: only handlers already measured on the workers are inlined, a handler that runs long once
 * (fuel bounds it, as in a worker) raises its EWMA above `maxNs` and goes back to the workers, at most
 * `turnBudgetNs` (1 ms) of inline work happens per event-loop turn, and inlining stops while the host
 * cores are congested (HostPool.setLoad: the network thread shares those cores).
 */
export class InlineLane {
  private readonly runner = new SlotRunner();
  private readonly costs = new Map<number, Cost>();
  private readonly maxNs: number;
  private readonly warmRuns: number;
  private readonly turnBudgetNs: number;
  private readonly preparing = new Set<number>();
  private turnNs = 0;
  private lastEnd = 0;
  private turnReset = false;
  /** The cost entry of the message accepts() last let in (run() follows it at once). */
  private accepted: Cost | undefined;
  enabled = true;

  /** Runs made on this thread so far, per handler (key `bundle << 16 | handler`); a redeploy restarts them. */
  /** Runs made on this thread so far by one handler (steering key `bundle × 65536 + handler`). */
  runsOf(key: number): number {
    return this.costs.get((Math.floor(key / 65536) << 16) | (key & 0xffff))?.inlineRuns ?? 0;
  }

  runsByHandler(): Map<number, number> {
    const out = new Map<number, number>();
    for (const [k, c] of this.costs) if (c.inlineRuns > 0) out.set(k, c.inlineRuns);
    return out;
  }

  constructor(opts: InlineOptions = {}) {
    this.maxNs = opts.maxNs ?? 100_000;
    this.warmRuns = opts.warmRuns ?? 32;
    this.turnBudgetNs = opts.turnBudgetNs ?? 1_000_000;
  }

  memory(): ReturnType<SlotRunner['memory']> {
    return this.runner.memory();
  }

  deploy(info: BundleInfo): void {
    this.runner.deploy(info);
    this.costs.forEach((_, k) => k >>> 16 === info.id && this.costs.delete(k));
  }

  undeploy(info: BundleInfo): void {
    this.runner.undeploy(info);
    this.costs.forEach((_, k) => k >>> 16 === info.id && this.costs.delete(k));
  }

  /** Records one host run of a handler (at a worker or here). */
  observe(bundle: number, handler: number, ns: number): void {
    const k = (bundle << 16) | handler;
    const c = this.costs.get(k);
    if (!c) this.costs.set(k, { ns, runs: 1, inlineRuns: 0 });
    else add(c, ns);
  }

  /** A handler's measured service time on the host (EWMA), ns; `unknown` before its first run. */
  costNs(bundle: number, handler: number, unknown = 0): number {
    return this.costs.get((bundle << 16) | handler)?.ns ?? unknown;
  }

  accepts(bundle: number, handler: number): boolean {
    if (!this.enabled || this.turnNs >= this.turnBudgetNs) return false;
    const c = this.costs.get((bundle << 16) | handler);
    if (c === undefined || c.runs < this.warmRuns || c.ns > this.maxNs) return false;
    if (this.runner.ready(bundle)) {
      this.accepted = c;
      return true;
    }
    // Eligible but not compiled on this thread yet: compile in the background, never on the socket path.
    if (!this.preparing.has(bundle)) {
      this.preparing.add(bundle);
      this.runner.prepare(bundle).then(
        () => this.preparing.delete(bundle),
        () => this.costs.forEach((cost, k) => k >>> 16 === bundle && (cost.ns = Infinity)),
      );
    }
    return false;
  }

  /**
   * Runs one accepted message. One clock reading per message: a run starts when the one before it in the
   * same read ended (or when the read arrived, `accepted`), so the decode and encode between two runs
   * count toward the next (~0.3 µs; the thresholds are in tens of µs) — `performance.now()` costs ~50 ns here.
   */
  run(bundle: number, handler: number, input: Uint8Array, accepted: number): Executed {
    if (!this.turnReset) {
      this.turnReset = true;
      setImmediate(() => {
        this.turnNs = 0;
        this.turnReset = false;
      });
    }
    const r = this.runner.execute(bundle, handler, input, this.lastEnd > accepted ? this.lastEnd : accepted);
    this.lastEnd = r.end;
    this.turnNs += r.ns;
    // The cost accepts() just found for this message.
    const c = this.accepted!;
    if (c.inlineRuns++ >= SETTLE) add(c, r.ns);
    return r;
  }
}

/** One more measured run into a handler's cost (EWMA). */
function add(c: Cost, ns: number): void {
  c.ns += 0.2 * (ns - c.ns);
  c.runs++;
}
