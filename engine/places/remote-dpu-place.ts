// The dpu place served by a remote agent (`roam serve --rdma --dpu-remote`, `roam dpu-agent --rdma`): the
// agent attaches over the server's own wire port (admin token), gets each bundle's bytes and UCX keys in
// AGENT frames and its messages as CALL frames, and reaches the host's regions through UCX
// (engine/server/remote-agent.ts). Steering sees it as the dpu place, as it sees the local shm agent (dpu-place.ts).
import { performance } from 'node:perf_hooks';
import { RoamError } from '../errors.ts';
import { AgentOp, Kind, Place as WirePlace, parseError, type Frame } from '../wire/frame.ts';
import type { BundleInfo } from './slot-runner.ts';
import { BusyWindow } from './busy-window.ts';
import type { Pending, Place, PlaceSignals } from './types.ts';
import { Fifo } from './fifo.ts';
import { DrainRate } from './drain-rate.ts';
import { LatencyCounts } from './latency.ts';

const ALPHA = 0.2;

/** The agent's wire connection, as the server holds it. */
export interface AgentLink {
  /** Appends one frame to the connection's output (copied at once). */
  frame(kind: number, place: number, id: number, bundle: number, code: number, payload: Uint8Array): void;
  close(): void;
}

export interface RemoteDpuPlaceOptions {
  /** Largest message payload (default 16 KiB, as the local agent's slots). */
  maxPayload?: number;
  /** Messages sent to the agent and not yet answered, at most (default 64). The rest wait here, so an
   *  agent lost mid-load costs at most this many E_PLACE_LOST; the waiting ones are steered again. */
  window?: number;
}

/** What the AGENT handshake and a DEPLOY frame carry (engine/wire/frame.ts Kind.AGENT). */
export interface AgentDeploy {
  /** RDMA_INFO's answer for the agent's worker: the server's worker and the bundle's keys. */
  rdma?: { address: string; pid: number; host: string; keys: string[] };
  /** Why the bundle's keys could not be given (its messages then fail with it at the agent). */
  error?: string;
}

/** DEPLOY's payload: u32 JSON length, the JSON, the bundle's bytes. */
export function encodeDeploy(d: AgentDeploy, bytes: Uint8Array): Uint8Array {
  const json = Buffer.from(JSON.stringify(d));
  const out = new Uint8Array(4 + json.length + bytes.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  out.set(bytes, 4 + json.length);
  return out;
}

export function decodeDeploy(p: Uint8Array): { deploy: AgentDeploy; bytes: Uint8Array } {
  if (p.length < 4) throw new RoamError('E_FRAME', 'AGENT deploy frame too short');
  const n = new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(0, true);
  if (4 + n > p.length) throw new RoamError('E_FRAME', 'AGENT deploy frame: JSON length past the payload');
  return { deploy: JSON.parse(Buffer.from(p.subarray(4, 4 + n)).toString('utf8')) as AgentDeploy, bytes: p.slice(4 + n) };
}

export class RemoteDpuPlace implements Place {
  readonly name = 'dpu' as const;
  readonly latency = new LatencyCounts();
  readonly maxPayload: number;
  readonly window: number;
  /** RDMA_INFO's answer for bundle `id` to the agent's worker `descriptor` (the wire server sets it). */
  keys: (id: number, descriptor: Uint8Array) => Uint8Array = () => {
    throw new RoamError('E_NO_RDMA', 'this server has no UCX worker');
  };
  onOrphan: (p: Pending) => void = (p) => p.done({ ok: false, code: 'E_PLACE_UNAVAILABLE', message: 'the remote dpu agent went away' });
  private link: AgentLink | undefined;
  private descriptor: Uint8Array = new Uint8Array(0);
  private readonly bundles = new Map<number, BundleInfo>();
  private readonly inflight = new Map<number, Pending>();
  private readonly backlog = new Fifo<Pending>();
  private seq = 0;
  private readonly drainRate = new DrainRate();
  private readonly sig: PlaceSignals = { available: false, queue: 0, parallelism: 1, sojournMs: 0, serviceMs: 0, busy: 0, lastDone: 0 };
  private sojournMs = 0;
  private serviceMs = 0;
  private lastDone = 0;
  private busySince = 0;
  private busyNs = 0;
  private readonly busyWindow = new BusyWindow();
  private readyWaiters: Array<() => void> = [];

  constructor(opts: RemoteDpuPlaceOptions = {}) {
    this.maxPayload = opts.maxPayload ?? 16 * 1024;
    this.window = opts.window ?? 64;
  }

  get attached(): boolean {
    return this.link !== undefined;
  }

  /** Resolves when an agent is attached. */
  whenReady(): Promise<void> {
    return this.link ? Promise.resolve() : new Promise((res) => this.readyWaiters.push(res));
  }

  /** Takes `link` as the agent (its UCX worker: `descriptor`) and sends it every deployed bundle. */
  attach(link: AgentLink, descriptor: Uint8Array): void {
    if (this.link) throw new RoamError('E_AGENT_ATTACHED', 'a dpu agent is already attached to this server');
    this.link = link;
    this.descriptor = descriptor.slice();
    for (const b of this.bundles.values()) this.sendDeploy(b);
    for (const w of this.readyWaiters.splice(0)) w();
    this.drain();
  }

  /** The agent's connection closed: answered nothing more will be. */
  detach(link: AgentLink): void {
    if (this.link !== link) return;
    this.link = undefined;
    // Sent and unanswered: the agent may have run them (a put may have landed): never re-run.
    for (const p of this.inflight.values()) p.done({ ok: false, code: 'E_PLACE_LOST', message: 'the remote dpu agent went away while it held this message; its outcome is unknown and it was not retried', place: 'dpu' });
    this.inflight.clear();
    for (const p of this.backlog.drain()) this.onOrphan(p);
  }

  /** A REPLY or ERROR frame from the agent. */
  answer(f: Frame): void {
    const p = this.inflight.get(f.id);
    if (!p) return; // not ours (a confused agent): nothing to answer
    this.inflight.delete(f.id);
    const now = performance.now();
    const ms = now - p.accepted;
    this.lastDone = now;
    this.sojournMs += ALPHA * (ms - this.sojournMs);
    this.latency.record(ms);
    const serviceNs = f.code * 1000;
    this.busyNs += serviceNs;
    this.serviceMs += ALPHA * (serviceNs / 1e6 - this.serviceMs);
    this.drainRate.batch(1, now, this.inflight.size > 0);
    if (f.kind === Kind.REPLY) p.done({ ok: true, reply: f.payload, place: 'dpu', serviceNs });
    else {
      const e = parseError(f.payload);
      p.done({ ok: false, code: e.code, message: e.message, place: 'dpu' });
    }
    this.drain();
  }

  signals(now = performance.now()): PlaceSignals {
    const s = this.sig;
    s.available = this.link !== undefined;
    s.queue = this.inflight.size + this.backlog.length;
    s.sojournMs = this.sojournMs;
    s.serviceMs = this.serviceMs;
    s.drainMs = this.drainRate.at(now);
    s.busy = this.busyWindow.update(now, this.busyNs);
    s.lastDone = this.lastDone;
    s.busySince = this.busySince;
    return s;
  }

  deploy(info: BundleInfo): void {
    this.bundles.set(info.id, info);
    if (this.link) this.sendDeploy(info);
  }

  undeploy(info: BundleInfo): void {
    this.bundles.delete(info.id);
    this.link?.frame(Kind.AGENT, 0, 0, info.id, AgentOp.UNDEPLOY, new Uint8Array(0));
  }

  submit(p: Pending): void {
    if (!this.link) return this.onOrphan(p);
    if (this.inflight.size + this.backlog.length === 0) this.busySince = performance.now();
    if (this.inflight.size >= this.window) {
      p.payload = p.payload.slice(); // kept past submit (types.ts)
      return void this.backlog.push(p);
    }
    this.send(p);
  }

  async close(): Promise<void> {
    this.link?.close();
  }

  private send(p: Pending): void {
    const id = (this.seq = (this.seq + 1) >>> 0);
    this.inflight.set(id, p);
    this.link!.frame(Kind.CALL, WirePlace.DPU, id, p.bundle, p.handler, p.payload);
  }

  private drain(): void {
    while (this.link && this.backlog.length && this.inflight.size < this.window) this.send(this.backlog.shift()!);
  }

  private sendDeploy(b: BundleInfo): void {
    let d: AgentDeploy;
    try {
      d = { rdma: JSON.parse(Buffer.from(this.keys(b.id, this.descriptor)).toString('utf8')) as AgentDeploy['rdma'] };
    } catch (e) {
      d = { error: `${(e as { code?: string }).code ?? 'E_RDMA'} ${(e as Error).message}` };
    }
    this.link!.frame(Kind.AGENT, 0, 0, b.id, AgentOp.DEPLOY, encodeDeploy(d, b.bytes));
  }
}
