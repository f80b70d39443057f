// A UCX worker for this thread: endpoints to peers, registered regions, and the request table through
// which the addon's batched completions reach their callbacks.
import { readFileSync, readlinkSync } from 'node:fs';
import { RoamError } from '../errors.ts';
import { ucxAddon, ucxLoadError, type RawEvent, type UcxAddon } from './addon.ts';
import { rdmaError } from './errors.ts';
import { RdmaEndpoint } from './endpoint.ts';

/** Called once per operation that did not complete at once: null, or why it failed. */
export type Done = (err: RoamError | null) => void;
export type MessageHandler = (header: Uint8Array, data: Uint8Array) => void;

let current: RdmaWorker | null = null;

/** A worker's address with where it runs (engine/rdma/README.md: choosing transports). */
export interface PeerDescriptor {
  address: Uint8Array;
  pid: number;
  host: string;
}

let host = '';
/** This kernel boot and network namespace: peers that share it may share memory. */
export function hostId(): string {
  if (!host) {
    let boot = 'unknown', net = 'unknown';
    try { boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(); } catch { /* not Linux */ }
    try { net = readlinkSync('/proc/self/ns/net'); } catch { /* not Linux */ }
    host = `${boot}/${net}`;
  }
  return host;
}

/** True when the addon is built (UCX's headers were there at `npm install`). */
export const rdmaAvailable = (): boolean => ucxAddon() !== null;

export class RdmaWorker {
  /** This worker's UCX address: give it to a peer (over an authenticated channel) to connect. */
  readonly address: Uint8Array;
  /** Random per worker; names the owner inside every key it packs. */
  readonly uuid: bigint;
  readonly addon: UcxAddon;
  private readonly dones: (Done | undefined)[] = [];
  private readonly whats: string[] = [];
  private readonly freeIds: number[] = [];
  private readonly endpoints = new Map<number, RdmaEndpoint>();
  private readonly handlers = new Map<number, MessageHandler>();
  private readonly regions = new Map<number, RdmaRegion>();
  private closed = false;

  private constructor(addon: UcxAddon) {
    this.addon = addon;
    const { address, uuid } = addon.open(this.onEvents);
    this.address = new Uint8Array(address);
    this.uuid = uuid;
  }

  /** Opens this thread's worker (one per thread; UCX_TLS and the other UCX_* variables apply). */
  static open(): RdmaWorker {
    const addon = ucxAddon();
    if (!addon) throw new RoamError('E_RDMA_UNAVAILABLE', `the UCX addon is not built (${ucxLoadError()}); install libucx-dev and run: npm run build:native`);
    if (current && !current.closed) throw new RoamError('E_RDMA', 'a UCX worker is already open on this thread; close it first');
    current = new RdmaWorker(addon);
    return current;
  }

  /** The UCX version and this context's and worker's configuration (transports, devices). */
  info(): string {
    return `UCX ${this.addon.version()}\n${this.addon.contextInfo()}`;
  }

  /** What a peer needs to connect here; send it over an authenticated channel. */
  descriptor(): PeerDescriptor {
    return { address: this.address, pid: process.pid, host: hostId() };
  }

  /**
   * Connects to a peer. On this machine (same boot and network namespace: `host` matches) UCX may use
   * its shared-memory transports, which in UCX 1.13 have no peer-failure handling, so the peer's exit
   * is watched through a pidfd; elsewhere the endpoint uses UCX's peer-failure mode (TCP, verbs).
   */
  connect(peer: PeerDescriptor): RdmaEndpoint {
    const local = peer.host === hostId() && peer.pid > 0;
    const ep = new RdmaEndpoint(this, this.addon.connect(peer.address, local ? peer.pid : 0));
    this.endpoints.set(ep.index, ep);
    return ep;
  }

  /** Registers existing memory (an ArrayBuffer, SharedArrayBuffer or POSIX shm mapping) for remote access. */
  register(view: Uint8Array): RdmaRegion {
    if (view.buffer instanceof ArrayBuffer && (view.buffer as ArrayBuffer & { resizable?: boolean }).resizable)
      throw new RoamError('E_RDMA', 'a resizable ArrayBuffer may move: register a fixed one');
    const r = new RdmaRegion(this, this.addon.register(view), view.byteLength);
    this.regions.set(r.id, r);
    return r;
  }

  /**
   * Memory UCX allocates and registers, as a SharedArrayBuffer: on this machine its shared-memory
   * transports then map it into the peer (reads and atomics without the owner, without a syscall),
   * which registered existing memory cannot offer (README: the measured difference).
   */
  alloc(length: number): { region: RdmaRegion; memory: SharedArrayBuffer } {
    const [id, memory] = this.addon.alloc(length);
    const region = new RdmaRegion(this, id, length);
    this.regions.set(id, region);
    return { region, memory };
  }

  /** Receives active messages with this id (< 60000); header and data are copies. */
  onMessage(id: number, handler: MessageHandler): void {
    this.addon.amListen(id);
    this.handlers.set(id, handler);
  }

  /** How long (ns) an operation is progressed in place before it is left to complete in a batch. */
  setSpin(ns: number): void {
    this.addon.setSpin(ns);
  }

  /** How long a request the owner answers ('am') may wait before it fails E_RDMA_TIMEOUT (default 10 s). */
  setTimeout(ms: number): void {
    this.addon.setTimeout(ms);
  }

  /** Keeps the process alive while serving (pending operations always do). */
  ref(on: boolean): void {
    this.addon.ref(on);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const err = new RoamError('E_RDMA_CLOSED', 'the UCX worker was closed');
    this.addon.close();
    for (let id = 0; id < this.dones.length; id++) this.finish(id, err);
    if (current === this) current = null;
  }

  // ---- for endpoint.ts / RdmaRegion --------------------------------------------------------------

  /** A request id for an operation about to be issued; `done` runs only if it does not complete at once. */
  request(done: Done, what: string): number {
    const id = this.freeIds.length ? this.freeIds.pop()! : this.dones.length;
    this.dones[id] = done;
    this.whats[id] = what;
    return id;
  }

  /** Applies an issue call's status: true done now, false pending (done runs later); throws on failure. */
  settle(id: number, status: number, what: string): boolean {
    if (status === 1) return false;
    this.release(id);
    if (status === 0) return true;
    throw this.error(status, what);
  }

  error(status: number, what: string): RoamError {
    return rdmaError(status, what, (s) => this.addon.statusString(s));
  }

  forget(ep: RdmaEndpoint): void {
    this.endpoints.delete(ep.index);
  }

  forgetRegion(r: RdmaRegion): void {
    this.regions.delete(r.id);
  }

  private release(id: number): void {
    this.dones[id] = undefined;
    this.freeIds.push(id);
  }

  private finish(id: number, err: RoamError | null): void {
    const done = this.dones[id];
    if (!done) return;
    this.release(id);
    done(err);
  }

  // Arrow property: the addon keeps this one function.
  private readonly onEvents = (n: number, comps: Int32Array, events?: RawEvent[]): void => {
    for (let i = 0; i < n; i++) {
      const id = comps[2 * i]!, st = comps[2 * i + 1]!;
      this.finish(id, st === 0 ? null : this.error(st, this.whats[id] ?? 'operation'));
    }
    if (events) for (const e of events) this.onEvent(e);
  };

  private onEvent([kind, a, b, header, data]: RawEvent): void {
    if (kind === 1) this.endpoints.get(a)?.failed(this.error(b, 'peer'));
    else if (kind === 2) this.handlers.get(a)?.(new Uint8Array(header), new Uint8Array(data));
    else if (kind === 3) this.regions.get(a)?.unmapped(b);
  }
}

/** Memory registered with this worker: its key lets a connected peer reach it. */
export class RdmaRegion {
  private unmappedCb: ((unacked: number) => void) | null = null;
  private state: 'live' | 'revoking' | 'gone' = 'live';

  constructor(private readonly worker: RdmaWorker, readonly id: number, readonly length: number) {}

  /** roam's key for this region (owner uuid, region id and generation, UCX's packed rkey). */
  key(): Uint8Array {
    if (this.state !== 'live') throw new RoamError('E_RDMA_REVOKED', `region ${this.id} was deregistered`);
    return new Uint8Array(this.worker.addon.rkey(this.id));
  }

  /**
   * Refuses the region's keys at once (requests answered here fail E_RDMA_REVOKED), tells every
   * connected peer, and unmaps once each has flushed what it issued and acknowledged (a dead peer
   * counts; 2 s at most). Resolves with how many never acknowledged.
   */
  deregister(): Promise<number> {
    if (this.state !== 'live') return Promise.reject(new RoamError('E_RDMA_REVOKED', `region ${this.id} was already deregistered`));
    this.state = 'revoking';
    return new Promise((resolve) => {
      this.unmappedCb = resolve;
      this.worker.addon.deregister(this.id);
    });
  }

  /** The addon unmapped the memory (after every peer acknowledged, or the deadline). */
  unmapped(unacked: number): void {
    this.state = 'gone';
    this.worker.forgetRegion(this);
    this.unmappedCb?.(unacked);
  }
}
