import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Mailbox, SlotState, SLOT_HEADER } from './mailbox.ts';
import type { BundleInfo } from './slot-runner.ts';
import type { ToWorker } from './host-worker.ts';
import { laneBytes, laneRings, type SlotRing } from './ring.ts';
import { BUSY_WINDOW_MS, type Pending, type Place, type PlaceResult, type PlaceSignals } from './types.ts';
import { FairBacklog } from './fair-backlog.ts';
import { DrainRate } from './drain-rate.ts';
import { LatencyCounts } from './latency.ts';
import { InlineLane, type InlineOptions } from './inline-lane.ts';
import type { LoadMode } from './background-load.ts';
import { TaskChannel, type TaskModule } from './worker-tasks.ts';
import { log as engineLog } from '../observe/log.ts';

const BOOT = new URL('./boot.mjs', import.meta.url);
const ENTRY = new URL('./host-worker.ts', import.meta.url).href;
const ALPHA = 0.2;
/** What a handler never run here is expected to cost, ns: a flood of unmeasured messages fills a worker's
 *  window with ~20 of them, not all, until the first replies say what they really cost. */
const UNMEASURED_NS = 100_000;

export interface HostPoolOptions {
  workers?: number;
  /** Largest message or reply a slot holds (bytes). */
  maxPayload?: number;
  /** Slots (messages in flight) per worker. */
  slotsPerWorker?: number;
  /** Running tiny handlers on the network thread when the workers are idle (inline-lane.ts). */
  inline?: InlineOptions;
  /** Estimated work (measured service time) a worker may hold queued, ns (default 2 ms): past it,
   *  messages wait in the fair backlog, so one bundle's slow messages cannot fill a worker's ring. */
  windowNs?: number;
  /** Payload bytes one bundle may have waiting at the host (default 16 MiB): past it, its new messages
   *  are refused with E_BUSY at once instead of growing the server's memory. */
  maxBacklogBytes?: number;
}

interface Lane {
  worker: Worker;
  mb: Mailbox;
  free: number[];
  /** Message per slot while it is in flight (indexed by slot). */
  inflight: (Pending | undefined)[];
  count: number;
  sub: SlotRing;
  done: SlotRing;
  busy: Float64Array;
  deploys: Int32Array;
  /** The worker's bundles compiled and modules cached (ring.ts). */
  mem: Int32Array;
  /** Slots pushed since the last doorbell check. */
  pushed: number;
  alive: boolean;
  drain: DrainRate;
  /** Function and chain runs sent to this worker (worker-tasks.ts). */
  tasks: TaskChannel;
  /** Estimated work in this lane (queued and running), ns, and each slot's share of it. */
  workNs: number;
  slotNs: Float64Array;
}

/**
 * Host cores: long-lived worker threads, each with its own slot table in a SharedArrayBuffer. The
 * server writes a message into a slot and its index onto the lane's submission ring; a worker takes
 * whole batches off the ring and puts finished slots on a completion ring. A side is woken
 * (Atomics.notify / waitAsync) only when it has gone idle, at most once per event-loop turn, and completions are
 * handled one batch per pass, so there is no per-message promise, closure, clone or copy here. A worker that dies is replaced; its
 * slots are recovered from their shared state: done → the reply is delivered, queued → run elsewhere,
 * running → one E_PLACE_LOST error (outcome unknown, never re-run, so no put is applied twice).
 */
export class HostPool implements Place {
  readonly name = 'host' as const;
  readonly maxPayload: number;
  private readonly lanes: Lane[] = [];
  private readonly backlog: FairBacklog;
  /** Messages of each bundle (wire id) in the workers' slots: a bundle with none may run inline. */
  private readonly byBundle = new Uint32Array(65536);
  private readonly windowNs: number;
  private readonly maxBacklogBytes: number;
  /** A bundle's weight in the fair backlog (the wire server gives its tenant's). */
  weightOf: (bundle: number) => number = () => 1;
  private bundles: BundleInfo[] = [];
  private readonly slots: number;
  private flushScheduled = false;
  private readonly batch: number[] = [];
  private readonly ringCapacity: number;
  private closing = false;
  private queue = 0;
  private sojournMs = 0;
  private serviceMs = 0;
  private lastDone = 0;
  private busySince = 0;
  private busyWindow = { at: performance.now(), ns: 0, busy: 0 };
  private readonly sig: PlaceSignals = { available: true, queue: 0, parallelism: 1, sojournMs: 0, serviceMs: 0, busy: 0, lastDone: 0 };
  private load = { fraction: 0, mode: 'block' as LoadMode };
  /** The network thread as a host core, for tiny handlers while the workers hold nothing. */
  readonly inline: InlineLane;
  /** Accept→reply times of messages run by the workers, and of those run inline (dashboard p50/p99). */
  readonly latency = new LatencyCounts();
  readonly inlineLatency = new LatencyCounts();
  /** Handler run times (service, not queueing) on the workers and inline (/metrics). */
  readonly service = new LatencyCounts();
  readonly inlineService = new LatencyCounts();
  /** What the workers load to run tasks (function and chain runs), once installed. */
  private taskModule: TaskModule | null = null;
  private taskIds = 0;
  /** Called for queued messages recovered from a dead worker (the router re-steers them). */
  onOrphan: (p: Pending) => void = (p) => this.submit(p);

  constructor(opts: HostPoolOptions = {}) {
    this.maxPayload = opts.maxPayload ?? 16 * 1024;
    this.slots = opts.slotsPerWorker ?? 512;
    this.ringCapacity = 1 << Math.ceil(Math.log2(this.slots));
    this.inline = new InlineLane(opts.inline);
    this.windowNs = opts.windowNs ?? 2_000_000;
    this.maxBacklogBytes = opts.maxBacklogBytes ?? 16 << 20;
    this.backlog = new FairBacklog((b, h) => this.inline.costNs(b, h, UNMEASURED_NS), (b) => this.weightOf(b));
    for (let i = 0; i < Math.max(1, opts.workers ?? 2); i++) this.lanes.push(this.spawn());
  }

  private spawn(): Lane {
    const shape = { slots: this.slots, slotSize: Math.ceil((this.maxPayload + SLOT_HEADER) / 8) * 8 };
    const buffer = new SharedArrayBuffer(shape.slots * shape.slotSize);
    const layout = { ctl: new SharedArrayBuffer(laneBytes(this.ringCapacity)), ringCapacity: this.ringCapacity };
    const worker = new Worker(BOOT, { workerData: { __roamEntry: ENTRY } });
    const lane: Lane = { worker, mb: new Mailbox(buffer, shape), free: [], inflight: new Array(shape.slots).fill(undefined), count: 0, ...laneRings(layout), pushed: 0, alive: true, drain: new DrainRate(), tasks: new TaskChannel(worker), workNs: 0, slotNs: new Float64Array(shape.slots) };
    for (let s = shape.slots - 1; s >= 0; s--) lane.free.push(s);
    const post = (m: ToWorker) => worker.postMessage(m);
    post({ type: 'init', buffer, shape, lane: layout });
    for (const info of this.bundles) this.postDeploy(lane, info);
    if (this.load.fraction) post({ type: 'load', ...this.load });
    if (this.taskModule) post({ type: 'tasks', ...this.taskModule });
    lane.done.whenRung(() => this.completed(lane));
    worker.on('error', () => {});
    worker.on('exit', () => this.lost(lane));
    return lane;
  }

  signals(now = performance.now()): PlaceSignals {
    const w = this.busyWindow;
    if (now - w.at > BUSY_WINDOW_MS) {
      const ns = this.lanes.reduce((a, l) => a + l.busy[0]!, 0);
      // A replaced worker restarts its counter at 0: clamp rather than report a negative share.
      w.busy = Math.max(0, Math.min(1, (ns - w.ns) / 1e6 / (now - w.at) / this.lanes.length));
      w.at = now;
      w.ns = ns;
    }
    let drainMs = 0, alive = false;
    for (const l of this.lanes) (drainMs += l.drain.at(now)), (alive ||= l.alive);
    const s = this.sig;
    s.available = alive;
    s.queue = this.queue;
    s.parallelism = this.lanes.length;
    s.sojournMs = this.sojournMs;
    s.serviceMs = this.serviceMs;
    s.drainMs = drainMs / this.lanes.length;
    s.busy = w.busy;
    s.lastDone = this.lastDone;
    s.busySince = this.busySince;
    return s;
  }

  /** What each worker holds (bundles compiled, modules cached), as it last published, and the inline lane. */
  memory(): { workers: Array<{ loaded: number; modules: number }>; inline: { loaded: number; modules: number } } {
    const inline = this.inline.memory();
    return { workers: this.lanes.filter((l) => l.alive).map((l) => ({ loaded: Atomics.load(l.mem, 0), modules: Atomics.load(l.mem, 1) })), inline: { loaded: inline.loaded, modules: inline.modules } };
  }

  deploy(info: BundleInfo): void {
    const i = this.bundles.findIndex((b) => b.id === info.id);
    if (i >= 0) this.bundles[i] = info;
    else this.bundles.push(info);
    this.inline.deploy(info);
    for (const l of this.lanes) if (l.alive) this.postDeploy(l, info);
  }

  undeploy(info: BundleInfo): void {
    this.bundles = this.bundles.filter((b) => b.id !== info.id);
    this.inline.undeploy(info);
    for (const l of this.lanes) if (l.alive) {
      Atomics.add(l.deploys, 0, 1); // ordered with the ring like a deploy: messages behind it see it gone
      l.worker.postMessage({ type: 'undeploy', info } satisfies ToWorker);
    }
  }

  private postDeploy(l: Lane, info: BundleInfo): void {
    Atomics.add(l.deploys, 0, 1);
    l.worker.postMessage({ type: 'deploy', info } satisfies ToWorker);
  }

  /** Host workers in the pool. */
  get workers(): number {
    return this.lanes.length;
  }

  /** Makes every worker (and every replacement) able to run tasks with `module` (worker-tasks.ts). */
  installTasks(module: TaskModule): void {
    this.taskModule = module;
    for (const l of this.lanes) if (l.alive) l.worker.postMessage({ type: 'tasks', ...module } satisfies ToWorker);
  }

  /** Runs one task on the worker with the fewest tasks in flight; rejects if that worker dies first. */
  runTask(task: unknown): Promise<unknown> {
    let best: Lane | undefined;
    for (const l of this.lanes) if (l.alive && (!best || l.tasks.outstanding < best.tasks.outstanding)) best = l;
    if (!best || !this.taskModule) return Promise.reject(new Error(best ? 'no task module installed' : 'no live host worker'));
    return best.tasks.run(++this.taskIds, task);
  }

  /** Tasks sent and not yet answered, over all workers. */
  get tasksInFlight(): number {
    let n = 0;
    for (const l of this.lanes) n += l.tasks.outstanding;
    return n;
  }

  /** Terminates the worker with this thread id (a run's watchdog); it is replaced like a crashed one. */
  terminate(threadId: number): boolean {
    const l = this.lanes.find((x) => x.alive && x.worker.threadId === threadId);
    if (!l) return false;
    void l.worker.terminate();
    return true;
  }

  /** Simulated co-located load on every worker: `fraction` of each 10 ms held (background-load.ts says how). */
  setLoad(fraction: number, mode: LoadMode = 'block'): void {
    this.load = { fraction, mode };
    // Co-located work takes the host cores, the network thread's included: nothing runs inline meanwhile.
    this.inline.enabled = !(fraction > 0);
    for (const l of this.lanes) if (l.alive) l.worker.postMessage({ type: 'load', fraction, mode } satisfies ToWorker);
  }

  /** Test hook: makes worker `i` fail with an uncaught error (a real crash of a real thread). */
  crashWorker(i: number): void {
    this.lanes[i]?.worker.postMessage({ type: 'crash' } satisfies ToWorker);
  }

  /**
   * Runs `p` on the calling (network) thread and answers it, when it allows that, its handler is known to
   * be tiny and no worker holds a message (so it cannot overtake one); false when it must be submitted.
   */
  tryInline(p: Pending): boolean {
    // Only when no message of this bundle waits or runs on a worker, so it overtakes none of its own:
    // other bundles' work on the workers (a tenant's slow handler, say) does not hold it back.
    if (!p.inline || this.byBundle[p.bundle] !== 0 || (this.backlog.length !== 0 && this.backlog.lengthOf(p.bundle) !== 0) || !this.inline.accepts(p.bundle, p.handler)) return false;
    const r = this.inline.run(p.bundle, p.handler, p.payload, p.accepted);
    const now = r.end;
    this.lastDone = now;
    const ms = now - p.accepted;
    this.sojournMs += ALPHA * (ms - this.sojournMs);
    this.inlineLatency.record(ms);
    this.inlineService.recordNs(r.ns);
    this.serviceMs += ALPHA * (r.ns / 1e6 - this.serviceMs);
    p.done(outcome(r.status, r.out, r.ns));
    return true;
  }

  submit(p: Pending): void {
    const waiting = this.backlog.length === 0 ? 0 : this.backlog.bytesOf(p.bundle);
    if (waiting > 0 && waiting + p.payload.length > this.maxBacklogBytes) {
      const n = this.backlog.lengthOf(p.bundle);
      return p.done({ ok: false, code: 'E_BUSY', message: `bundle ${p.bundle} has ${n} messages (${waiting} bytes) waiting at the host, past its ${this.maxBacklogBytes}-byte bound; retry later`, place: 'host' });
    }
    if (this.queue++ === 0) this.busySince = performance.now();
    this.place(p);
  }

  private place(p: Pending): void {
    const cost = this.costOf(p);
    // Behind its own bundle's waiting messages, never ahead of them (no lookup while nothing waits at all).
    const best = this.backlog.length === 0 || this.backlog.lengthOf(p.bundle) === 0 ? this.laneFor(cost) : undefined;
    if (!best) {
      p.payload = p.payload.slice(); // kept past submit: the caller's view may be reused (types.ts)
      this.backlog.push(p);
      return;
    }
    this.put(best, p, cost);
  }

  /** A message's expected service time: its handler's measured one, or a guess until it has one. */
  private costOf(p: Pending): number {
    return this.inline.costNs(p.bundle, p.handler, UNMEASURED_NS);
  }

  /** The least loaded live lane with a free slot and room in its window for `cost` (an idle one always). */
  private laneFor(cost: number): Lane | undefined {
    let best: Lane | undefined;
    for (const l of this.lanes) {
      if (!l.alive || l.free.length === 0 || (l.count > 0 && l.workNs + cost > this.windowNs)) continue;
      if (!best || l.count < best.count) best = l;
    }
    return best;
  }

  private put(best: Lane, p: Pending, cost: number): void {
    const slot = best.free.pop()!;
    best.mb.put(slot, p.bundle, p.handler, p.payload);
    best.inflight[slot] = p;
    best.slotNs[slot] = cost;
    best.workNs += cost;
    this.byBundle[p.bundle]!++;
    best.count++;
    best.sub.push(slot);
    best.pushed++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const l of this.lanes) {
      if (l.pushed === 0 || !l.alive) continue;
      l.pushed = 0;
      l.sub.wake();
    }
  }

  /** One pass over a lane's completion ring; another pass follows (next turn) while the worker keeps producing. */
  private completed(lane: Lane): void {
    if (!lane.alive) return;
    const now = performance.now();
    lane.done.drain(this.batch);
    for (const s of this.batch) this.deliver(lane, s, now);
    lane.drain.batch(this.batch.length, now, lane.count > 0);
    this.drainBacklog();
    if (lane.done.sleep()) setImmediate(() => this.completed(lane));
    else lane.done.whenRung(() => this.completed(lane));
  }

  /** Moves waiting messages to the workers in fair order while a lane has room for the next one. */
  private drainBacklog(): void {
    while (this.backlog.length > 0) {
      const p = this.backlog.shift()!;
      const cost = this.costOf(p);
      const l = this.laneFor(cost);
      if (!l) {
        this.backlog.unshift(p);
        return;
      }
      this.put(l, p, cost);
    }
  }

  /** Hands the outcome to the message (the reply is a view into the slot), then frees the slot. */
  private deliver(lane: Lane, slot: number, now: number): void {
    const p = lane.inflight[slot];
    if (!p) return;
    this.release(lane, slot, p);
    const mb = lane.mb;
    const h = mb.h(slot);
    const status = mb.i32[h + 4]!, serviceNs = mb.i32[h + 6]!;
    this.lastDone = now;
    const ms = now - p.accepted;
    this.sojournMs += ALPHA * (ms - this.sojournMs);
    this.latency.record(ms);
    this.service.recordNs(serviceNs);
    this.serviceMs += ALPHA * (serviceNs / 1e6 - this.serviceMs);
    this.inline.observe(p.bundle, p.handler, serviceNs);
    try {
      p.done(outcome(status, mb.replyView(slot), serviceNs));
    } catch (e) {
      // A caller's callback failed: report it, but keep delivering the rest of the batch.
      engineLog('error', 'host place: a reply callback threw', { message: String((e as Error)?.stack ?? e) });
    } finally {
      mb.setState(slot, SlotState.FREE);
      lane.free.push(slot);
    }
  }

  /** A slot's message is answered or gone: its lane, bundle and pool counts drop. */
  private release(lane: Lane, slot: number, p: Pending): void {
    lane.inflight[slot] = undefined;
    lane.count--;
    lane.workNs -= lane.slotNs[slot]!;
    this.byBundle[p.bundle]!--;
    this.queue--;
  }

  private lost(lane: Lane): void {
    lane.alive = false;
    lane.tasks.fail('host worker exited');
    const i = this.lanes.indexOf(lane);
    const now = performance.now();
    for (let slot = 0; slot < lane.inflight.length; slot++) {
      const p = lane.inflight[slot];
      if (!p) continue;
      const st = lane.mb.state(slot);
      if (st === SlotState.DONE) this.deliver(lane, slot, now);
      else {
        this.release(lane, slot, p);
        // QUEUED → claim it ourselves so a zombie can never run it, then run it elsewhere.
        if (st === SlotState.QUEUED && lane.mb.claim(slot)) {
          p.payload = lane.mb.input(slot).slice(); // the caller's view is long gone; the slot kept the bytes
          this.onOrphan(p);
        }
        else p.done({ ok: false, code: 'E_PLACE_LOST', message: 'host worker died while running this message; its outcome is unknown and it was not retried', place: 'host' });
      }
    }
    if (this.closing) return;
    this.lanes[i] = this.spawn();
    this.drainBacklog();
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.lanes.map((l) => l.worker.terminate()));
    for (const p of this.backlog.drain()) p.done({ ok: false, code: 'E_SHUTDOWN', message: 'server is shutting down' });
  }
}

/** A host run's result as the caller sees it: the reply, or the `CODE message` the runner wrote. */
function outcome(status: number, out: Uint8Array, serviceNs: number): PlaceResult {
  if (status === 0) return { ok: true, reply: out, place: 'host', serviceNs };
  const s = Buffer.from(out).toString('utf8');
  const sp = s.indexOf(' ');
  return { ok: false, code: s.slice(0, sp), message: s.slice(sp + 1), place: 'host' };
}
