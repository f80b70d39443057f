import { performance } from 'node:perf_hooks';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createShm, unlinkShm } from '../shm/index.ts';
import type { RegionAllocator } from '../regions/region-store.ts';
import { Mailbox, SlotState, SLOT_HEADER } from './mailbox.ts';
import type { BundleInfo } from './slot-runner.ts';
import { onLines, sendLine, type FromAgent } from './agent-protocol.ts';
import { BusyWindow } from './busy-window.ts';
import type { Pending, Place, PlaceSignals } from './types.ts';
import { Fifo } from './fifo.ts';
import { DrainRate } from './drain-rate.ts';
import { LatencyCounts } from './latency.ts';
import { log as engineLog } from '../observe/log.ts';

const ALPHA = 0.2;
const ROAM_BIN = fileURLToPath(new URL('../../bin/roam.js', import.meta.url));
let shmSeq = 0;

export interface DpuPlaceOptions {
  maxPayload?: number;
  slots?: number;
  /** Start `roam dpu-agent` as a child process (default true); otherwise wait for one to connect. */
  spawnAgent?: boolean;
}

/**
 * The dpu place, server side. Regions and the slot table live in POSIX shm, so the agent process works on
 * the very bytes host workers use (Atomics included). The agent gets slot indexes over a local socket.
 * When the agent dies, its slots are recovered from shm exactly as for a host worker: done → reply,
 * queued → re-steered, running → E_PLACE_LOST. A new agent may connect later.
 */
export class DpuPlace implements Place {
  readonly name = 'dpu' as const;
  /** Accept→reply times (dashboard p50/p99). */
  readonly latency = new LatencyCounts();
  /** Handler run times at the agent (service, not queueing; /metrics). */
  readonly service = new LatencyCounts();
  readonly maxPayload: number;
  readonly allocator: RegionAllocator;
  private readonly shmNames = new Map<string, { shm: string; size: number }>();
  private readonly owned: string[] = [];
  private readonly mb: Mailbox;
  private readonly mbName: string;
  private readonly free: number[] = [];
  private readonly inflight = new Map<number, Pending>();
  private readonly backlog = new Fifo<Pending>();
  private bundles: BundleInfo[] = [];
  /** What the agent last said it holds (bundles compiled, modules cached). */
  private mem = { loaded: 0, modules: 0 };
  private readonly listener: net.Server;
  private agent: net.Socket | undefined;
  private ready = false;
  private ring: number[] = [];
  private flushScheduled = false;
  private sojournMs = 0;
  private readonly drainRate = new DrainRate();
  private readonly sig: PlaceSignals = { available: false, queue: 0, parallelism: 1, sojournMs: 0, serviceMs: 0, busy: 0, lastDone: 0 };
  private serviceMs = 0;
  private lastDone = 0;
  private busySince = 0;
  private busyNs = 0;
  private readonly busyWindow = new BusyWindow();
  child: ChildProcess | undefined;
  port = 0;
  onOrphan: (p: Pending) => void = (p) => p.done({ ok: false, code: 'E_PLACE_UNAVAILABLE', message: 'dpu agent went away' });
  private readyWaiters: Array<() => void> = [];

  constructor(private readonly opts: DpuPlaceOptions = {}) {
    this.maxPayload = opts.maxPayload ?? 16 * 1024;
    const shape = { slots: opts.slots ?? 1024, slotSize: Math.ceil((this.maxPayload + SLOT_HEADER) / 8) * 8 };
    this.mbName = this.shmName();
    this.mb = new Mailbox(createShm(this.mbName, shape.slots * shape.slotSize), shape);
    for (let s = shape.slots - 1; s >= 0; s--) this.free.push(s);
    this.allocator = (key, size) => {
      const name = this.shmName();
      this.shmNames.set(key, { shm: name, size });
      return createShm(name, size);
    };
    this.listener = net.createServer((s) => this.attach(s));
    this.listener.on('error', (e) => engineLog('error', 'dpu listener error', { message: e.message }));
  }

  private shmName(): string {
    const n = `/roam.${process.pid}.${shmSeq++}`;
    this.owned.push(n);
    return n;
  }

  /** Listens for the agent (and starts it unless spawnAgent is false); resolves when it is ready. */
  async start(): Promise<void> {
    await new Promise<void>((res) => this.listener.listen(0, '127.0.0.1', res));
    this.port = (this.listener.address() as net.AddressInfo).port;
    if (this.opts.spawnAgent !== false) this.spawnAgent();
    await this.whenReady();
  }

  spawnAgent(): ChildProcess {
    this.child = spawn(process.execPath, [ROAM_BIN, 'dpu-agent', '--connect', `127.0.0.1:${this.port}`], { stdio: ['ignore', 'inherit', 'inherit'] });
    // A failed spawn (EAGAIN, ENOMEM) leaves the place unavailable (steering skips it), not the server dead.
    this.child.on('error', (e) => engineLog('error', 'cannot start the dpu agent', { message: e.message }));
    return this.child;
  }

  whenReady(): Promise<void> {
    return this.ready ? Promise.resolve() : new Promise((res) => this.readyWaiters.push(res));
  }

  private attach(sock: net.Socket): void {
    sock.on('error', () => {}); // a reset ends this agent's connection; 'close' below handles the loss
    if (this.agent) return void sock.destroy(); // one agent at a time
    this.agent = sock;
    sock.setNoDelay(true);
    sendLine(sock, { t: 'init', mailbox: this.mbName, shape: this.mb.shape });
    for (const b of this.bundles) this.sendDeploy(b);
    onLines<FromAgent>(sock, (m) => {
      if (m.t === 'ready') {
        this.ready = true;
        for (const w of this.readyWaiters.splice(0)) w();
        this.drain();
      } else if (m.t === 'mem') {
        this.mem = { loaded: m.loaded, modules: m.modules };
      } else if (m.t === 'done') {
        this.busyNs = m.busyNs;
        for (const s of m.s) this.deliver(s);
        this.drainRate.batch(m.s.length, performance.now(), this.inflight.size > 0);
        this.drain();
      }
    });
    sock.on('close', () => this.lost());
  }

  private sendDeploy(b: BundleInfo): void {
    const regions: Record<string, { shm: string; size: number }> = {};
    for (const k of Object.keys(b.regions)) regions[k] = this.shmNames.get(k)!;
    sendLine(this.agent!, { t: 'deploy', id: b.id, bytes: Buffer.from(b.bytes).toString('base64'), regions });
  }

  signals(now = performance.now()): PlaceSignals {
    const s = this.sig;
    s.available = this.ready;
    s.queue = this.inflight.size + this.backlog.length;
    s.sojournMs = this.sojournMs;
    s.serviceMs = this.serviceMs;
    s.drainMs = this.drainRate.at(now);
    s.busy = this.busyWindow.update(now, this.busyNs);
    s.lastDone = this.lastDone;
    s.busySince = this.busySince;
    return s;
  }

  memory(): { loaded: number; modules: number } {
    return { ...this.mem };
  }

  deploy(info: BundleInfo): void {
    for (const k of Object.keys(info.regions)) if (!this.shmNames.has(k)) throw new Error(`region ${k} is not in shm: create the server's registry with this place's allocator`);
    const i = this.bundles.findIndex((b) => b.id === info.id);
    if (i >= 0) this.bundles[i] = info;
    else this.bundles.push(info);
    if (this.agent) this.sendDeploy(info);
  }

  undeploy(info: BundleInfo): void {
    this.bundles = this.bundles.filter((b) => b.id !== info.id);
    if (this.agent) sendLine(this.agent, { t: 'undeploy', id: info.id, regions: Object.keys(info.regions) });
  }

  /** Unlinks a freed region's shm object (RegionStore's release hook); the agent unmaps it at undeploy. */
  release(key: string): void {
    const r = this.shmNames.get(key);
    if (!r) return;
    this.shmNames.delete(key);
    this.owned.splice(this.owned.indexOf(r.shm), 1);
    try {
      unlinkShm(r.shm);
    } catch {
      // already gone
    }
  }

  submit(p: Pending): void {
    if (!this.ready) return this.onOrphan(p);
    if (this.inflight.size + this.backlog.length === 0) this.busySince = performance.now();
    const slot = this.free.pop();
    if (slot === undefined) {
      p.payload = p.payload.slice(); // kept past submit: the caller's view may be reused (types.ts)
      return void this.backlog.push(p);
    }
    this.mb.put(slot, p.bundle, p.handler, p.payload);
    this.inflight.set(slot, p);
    this.ring.push(slot);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        if (this.agent && this.ring.length) sendLine(this.agent, { t: 'run', s: this.ring });
        this.ring = [];
      });
    }
  }

  private drain(): void {
    while (this.backlog.length && this.free.length && this.ready) this.submit(this.backlog.shift()!);
  }

  private deliver(slot: number): void {
    const p = this.inflight.get(slot);
    if (!p) return;
    this.inflight.delete(slot);
    const r = this.mb.take(slot);
    this.free.push(slot);
    const now = performance.now();
    this.lastDone = now;
    const ms = now - p.accepted;
    this.sojournMs += ALPHA * (ms - this.sojournMs);
    this.latency.record(ms);
    this.service.recordNs(r.serviceNs);
    this.serviceMs += ALPHA * (r.serviceNs / 1e6 - this.serviceMs);
    if (r.status === 0) p.done({ ok: true, reply: r.out, place: 'dpu', serviceNs: r.serviceNs });
    else {
      const s = Buffer.from(r.out).toString('utf8');
      const sp = s.indexOf(' ');
      p.done({ ok: false, code: s.slice(0, sp), message: s.slice(sp + 1), place: 'dpu' });
    }
  }

  private lost(): void {
    this.agent = undefined;
    this.ready = false;
    this.ring = [];
    for (const [slot, p] of [...this.inflight]) {
      const st = this.mb.state(slot);
      if (st === SlotState.DONE) this.deliver(slot);
      else {
        this.inflight.delete(slot);
        // Take queued slots back (CAS, so a half-dead agent cannot also run them) and free them.
        const mine = st === SlotState.QUEUED && this.mb.claim(slot);
        if (mine) p.payload = this.mb.input(slot).slice(); // the caller's view is long gone; the slot kept the bytes
        if (st !== SlotState.RUNNING) {
          this.mb.setState(slot, SlotState.FREE);
          this.free.push(slot);
        }
        if (mine) this.onOrphan(p);
        else p.done({ ok: false, code: 'E_PLACE_LOST', message: 'dpu agent died while running this message; its outcome is unknown and it was not retried', place: 'dpu' });
      }
    }
    for (const p of this.backlog.drain()) this.onOrphan(p);
  }

  async close(): Promise<void> {
    this.child?.kill('SIGTERM');
    this.agent?.destroy();
    await new Promise<void>((res) => this.listener.close(() => res()));
    for (const n of this.owned) {
      try {
        unlinkShm(n);
      } catch {}
    }
  }
}
