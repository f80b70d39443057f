// roam/client: sends messages to a roam server over the binary wire protocol (engine/wire/README.md).
import { performance } from 'node:perf_hooks';
import net from 'node:net';
import { RoamError } from '../errors.ts';
import type { Manifest } from '../bundle/manifest.ts';
import { FrameDecoder } from '../wire/decoder.ts';
import { AtomicOp, DEFAULT_MAX_FRAME, Kind, PLACE_NAMES, type PlaceName, parseError, placeCode } from '../wire/frame.ts';
import { OutBuffer } from '../wire/out-buffer.ts';
import { ClientSteering } from '../steering/client-steering.ts';
import type { SteeringOptions } from '../steering/policy.ts';
import { ClientPlace } from './client-place.ts';
import type { RegionPath } from './client-io.ts';
import { ClientStatsReporter } from './stats-reporter.ts';

export type { RegionPath } from './client-io.ts';

export type { PlaceName } from '../wire/frame.ts';

export interface SendOptions {
  /** Where the handler runs: auto (steered per message), client (this process), host or dpu (pinned). */
  place?: PlaceName;
}

export interface Reply {
  bytes: Uint8Array;
  /** The place that ran it. */
  place: PlaceName;
}

export interface ConnectOptions {
  host?: string;
  port: number;
  maxFrame?: number;
  /** Let 'auto' run messages at the client place (default true); 'client' works either way. */
  clientPlace?: boolean;
  steering?: SteeringOptions;
  /** Admin or tenant token, sent in the connection's first frame (AUTH) when given; a server with tokens
   *  refuses a connection without one. A tenant's connection reaches only that tenant's bundles. */
  token?: string;
  /** Run client-place region operations over UCX (engine/rdma) when the server runs `roam serve --rdma`;
   *  otherwise (or without the roam_ucx addon) over the wire, as `client.regionPath` says. */
  rdma?: boolean;
  /** Report the client place's counters to the server while a dashboard is open there (default true):
   *  its `client` row (engine/client/stats-reporter.ts). */
  clientStats?: boolean;
}

interface Waiter {
  /** The reply to request `id` (payload copied out of the receive buffer). */
  answer(id: number, payload: Uint8Array, place: number, bundle: number): void;
  reject(e: Error, id: number): void;
}

type Answer = { payload: Uint8Array; place: number; bundle: number };

/** The waiter of one request: its promise. */
class OneWaiter implements Waiter {
  constructor(readonly resolve: (a: Answer) => void, readonly reject: (e: Error) => void) {}
  answer(_id: number, payload: Uint8Array, place: number, bundle: number): void {
    this.resolve({ payload, place, bundle });
  }
}

/** The server's notice that a bundle this connection resolved has a new version or was removed. */
export interface BundleChange {
  /** Wire id (a new version keeps it). */
  id: number;
  name: string;
  version: string;
  removed: boolean;
}

/** One answer of a batch: the reply bytes, or the error for that message. */
export type BatchAnswer = Uint8Array | RoamError;

/** The waiter of a pipelined batch (consecutive ids): answers land at their index, one promise settles. */
class BatchWaiter implements Waiter {
  readonly out: BatchAnswer[];
  private left: number;
  constructor(private readonly first: number, n: number, private readonly settle: (out: BatchAnswer[]) => void) {
    this.out = new Array<BatchAnswer>(n);
    this.left = n;
  }
  answer(id: number, payload: Uint8Array): void {
    this.put(id, payload);
  }
  reject(e: Error, id: number): void {
    this.put(id, e instanceof RoamError ? e : new RoamError('E_DISCONNECTED', e.message));
  }
  private put(id: number, a: BatchAnswer): void {
    this.out[id - this.first] = a;
    if (--this.left === 0) this.settle(this.out);
  }
}

/**
 * One connection. Calls are pipelined (any number in flight, matched by request id) and batched: every
 * frame written in the same event-loop turn leaves in one socket write.
 */
export class Client {
  private readonly waiters = new Map<number, Waiter>();
  private readonly resolved = new Map<string, Promise<{ id: number; manifest: Manifest }>>();
  private nextId = 1;
  private readonly out: OutBuffer;
  private closed: Error | undefined;
  private readonly decoder: FrameDecoder;
  private local: ClientPlace | undefined;
  private readonly localReady = new Set<number>();
  private readonly autoClient: boolean;
  private readonly rdma: boolean;
  private readonly reportStats: boolean;
  private reporter: ClientStatsReporter | undefined;
  /** Client-side steering (client place vs server); its `policy.shifts` records every switch. */
  readonly steering: ClientSteering;
  private readonly changeListeners = new Set<(c: BundleChange) => void>();

  constructor(private readonly socket: net.Socket, maxFrame = DEFAULT_MAX_FRAME, opts: { clientPlace?: boolean; steering?: SteeringOptions; rdma?: boolean; clientStats?: boolean } = {}) {
    this.autoClient = opts.clientPlace ?? true;
    this.reportStats = opts.clientStats ?? true;
    this.rdma = opts.rdma ?? false;
    this.steering = new ClientSteering(opts.steering);
    socket.setNoDelay(true);
    this.out = new OutBuffer({
      copies: false,
      write: (b, len) => {
        if (!this.closed) socket.write(len === b.length ? b : b.subarray(0, len));
      },
    });
    this.decoder = new FrameDecoder(maxFrame, {
      frame: (f) => {
        if (f.kind === Kind.BUNDLE_CHANGED) return this.bundleChanged(f.bundle, f.code === 1, f.payload);
        // The server's push (id 0 is never a request's): a dashboard opened, report the client place again.
        if (f.id === 0 && f.kind === Kind.CLIENT_STATS) return this.reporter?.wake();
        const w = this.waiters.get(f.id);
        if (!w) return;
        this.waiters.delete(f.id);
        if (f.kind === Kind.ERROR) {
          const { code, message } = parseError(f.payload);
          w.reject(new RoamError(code, message), f.id);
        } else w.answer(f.id, Uint8Array.prototype.slice.call(f.payload), f.place, f.bundle);
      },
      oversize: (h, len) => {
        const w = this.waiters.get(h.id);
        this.waiters.delete(h.id);
        w?.reject(new RoamError('E_TOO_LARGE', `reply of ${len} bytes exceeds this client's maxFrame`), h.id);
      },
      corrupt: (reason) => this.fail(new RoamError('E_FRAME', `server sent a corrupt stream: ${reason}`)),
    });
    socket.on('data', (c: Buffer) => this.decoder.push(c));
    socket.on('error', (e) => this.fail(new RoamError('E_DISCONNECTED', `connection failed: ${e.message}`)));
    socket.on('close', () => this.fail(new RoamError('E_DISCONNECTED', 'connection closed before the reply arrived')));
  }

  /**
   * BUNDLE_CHANGED: the next call resolves the bundle again and the client place fetches the new version;
   * a removed bundle stops here too (its next call answers E_NO_BUNDLE).
   */
  private bundleChanged(id: number, removed: boolean, payload: Uint8Array): void {
    let c: BundleChange;
    try {
      const j = JSON.parse(Buffer.from(payload).toString('utf8')) as { name?: unknown; version?: unknown };
      if (typeof j.name !== 'string') return;
      c = { id, name: j.name, version: String(j.version ?? ''), removed };
    } catch {
      return; // not ours to fail the connection over: the next call finds out from the server
    }
    this.resolved.delete(c.name);
    this.localReady.delete(id);
    this.local?.forget(id, removed);
    for (const l of this.changeListeners) l(c);
  }

  /** Calls `listener` on every BUNDLE_CHANGED notice (after the client has dropped the old version); returns the unsubscribe. */
  onBundleChange(listener: (c: BundleChange) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private fail(e: Error): void {
    this.closed ??= e;
    for (const [id, w] of this.waiters) w.reject(e, id);
    this.waiters.clear();
    this.socket.destroy();
  }

  private request(kind: number, bundle: number, code: number, place: number, payload: Uint8Array) {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId;
    this.nextId = (this.nextId + 1) >>> 0 || 1;
    // Encoded at once into this turn's batch (one socket write per turn).
    this.out.frame(kind, place & 0x0f, id, bundle, code, payload);
    return new Promise<Answer>((resolve, reject) => this.waiters.set(id, new OneWaiter(resolve, reject)));
  }

  /**
   * Pipelines calls of one handler (wire ids as sendRaw) in this turn's write and resolves once, with
   * every answer in order: the reply bytes, or the RoamError of that message (a failed message does not
   * fail the batch). One promise per batch instead of one per message — the client side of a pipeline,
   * as redis-benchmark's -P is for Redis.
   */
  sendBatch(bundle: number, type: number, payloads: readonly Uint8Array[], place: PlaceName = 'auto'): Promise<BatchAnswer[]> {
    if (this.closed) return Promise.reject(this.closed);
    const n = payloads.length;
    if (n === 0) return Promise.resolve([]);
    // Consecutive ids, so an answer's index is id − first: start over at 1 rather than wrap inside a batch.
    if (this.nextId + n > 0xffffffff) this.nextId = 1;
    const first = this.nextId;
    this.nextId += n;
    const code = placeCode(place) & 0x0f;
    return new Promise<BatchAnswer[]>((resolve) => {
      const w = new BatchWaiter(first, n, resolve);
      for (let i = 0; i < n; i++) {
        this.out.frame(Kind.CALL, code, first + i, bundle, type, payloads[i]!);
        this.waiters.set(first + i, w);
      }
    });
  }

  /** Looks a bundle up by name (cached): its wire id and manifest. */
  resolve(bundle: string): Promise<{ id: number; manifest: Manifest }> {
    let p = this.resolved.get(bundle);
    if (!p) {
      p = this.request(Kind.RESOLVE, 0, 0, 0, Buffer.from(bundle)).then((f) => JSON.parse(Buffer.from(f.payload).toString('utf8')));
      p.catch(() => this.resolved.delete(bundle));
      this.resolved.set(bundle, p);
    }
    return p;
  }

  private clientPlace(): ClientPlace {
    this.local ??= new ClientPlace((kind, bundle, code, payload) => {
      const t0 = performance.now();
      return this.request(kind, bundle, code, 0, payload).then((f) => {
        if (kind !== Kind.FETCH_BUNDLE) this.steering.recordRtt(performance.now() - t0);
        return f.payload;
      });
    }, { rdma: this.rdma });
    if (this.reportStats && !this.reporter) {
      const local = this.local;
      this.reporter = new ClientStatsReporter((p) => this.request(Kind.CLIENT_STATS, 0, 0, 0, p).then((a) => a.payload), () => local.depth);
    }
    return this.local;
  }

  /** Where client-place region operations go ('ucx' or 'wire') and why: set as a bundle is prepared there. */
  get regionPath(): RegionPath {
    return this.local?.regionPath ?? { path: 'wire', reason: this.rdma ? 'no message has run at the client place yet' : 'UCX not requested (connect(…, { rdma: true }))' };
  }

  /** The client place, once a message has used it (stats, tests). */
  get localPlace(): ClientPlace | undefined {
    return this.local;
  }

  private async runLocal(target: string, id: number, name: string, payload: Uint8Array): Promise<Reply> {
    const t0 = performance.now();
    const r = await this.clientPlace().run(id, name, payload).catch((e: unknown) => {
      this.reporter?.record(performance.now() - t0, false);
      // UCX keys revoked (bundle deleted or redeployed) or the server's worker gone: resolve afresh next time.
      if (e instanceof RoamError && e.code.startsWith('E_RDMA_')) {
        this.resolved.delete(target.slice(0, target.indexOf('/')));
        this.localReady.delete(id);
      }
      throw e;
    });
    const ms = performance.now() - t0;
    this.reporter?.record(ms, true);
    this.steering.recordClient(target, ms, r);
    return { bytes: r.reply, place: 'client' };
  }

  private async handlerType(target: string): Promise<{ id: number; type: number; name: string }> {
    const slash = target.indexOf('/');
    if (slash < 0) throw new RoamError('E_USAGE', `handler '${target}' must be named 'bundle/handler', e.g. 'kv/get'`);
    const { id, manifest } = await this.resolve(target.slice(0, slash));
    const name = target.slice(slash + 1);
    const h = manifest.handlers.find((x) => x.name === name);
    if (!h) throw new RoamError('E_NO_HANDLER', `bundle '${manifest.name}' has no handler '${name}' (has: ${manifest.handlers.map((x) => x.name).join(', ')})`);
    return { id, type: h.type, name };
  }

  /** Sends one message to `bundle/handler`; resolves with the reply bytes and the place that ran it. */
  async call(target: string, payload: Uint8Array, opts: SendOptions = {}): Promise<Reply> {
    const place = opts.place ?? 'auto';
    const code = placeCode(place);
    if (code < 0) throw new RoamError('E_USAGE', `unknown place '${String(place)}' (auto, client, dpu, host)`);
    const { id, type, name } = await this.handlerType(target);
    if (place === 'client') return this.runLocal(target, id, name, payload);
    if (place === 'auto' && this.autoClient) {
      const cp = this.clientPlace();
      if (!this.localReady.has(id)) cp.prepare(id).then(() => this.localReady.add(id), () => {});
      const side = this.steering.choose(target, { available: this.localReady.has(id), queue: cp.depth, parallelism: 1 });
      if (side === 'client') return this.runLocal(target, id, name, payload);
    }
    const t0 = performance.now();
    const f = await this.request(Kind.CALL, id, type, code, payload).catch((e: unknown) => {
      // The bundle was removed (or replaced under a new id after a removal): look it up again next time.
      if (e instanceof RoamError && e.code === 'E_NO_BUNDLE') this.resolved.delete(target.slice(0, target.indexOf('/')));
      throw e;
    });
    if (place === 'auto') this.steering.recordServer(target, performance.now() - t0);
    return { bytes: f.payload, place: PLACE_NAMES[f.place] ?? 'auto' };
  }

  /** Like call, the reply bytes only. */
  async send(target: string, payload: Uint8Array, opts: SendOptions = {}): Promise<Uint8Array> {
    return (await this.call(target, payload, opts)).bytes;
  }

  /** Sends with an already-resolved bundle id and handler type (hot loops, benchmarks, fault tests). */
  sendRaw(bundle: number, type: number, payload: Uint8Array, place: PlaceName = 'auto'): Promise<{ payload: Uint8Array; place: number }> {
    return this.request(Kind.CALL, bundle, type, placeCode(place), payload);
  }

  /** One-sided read of a server region (bundle name, region index in its manifest). */
  async readRegion(bundle: string, region: number, offset: number, length: number): Promise<Uint8Array> {
    const { id } = await this.resolve(bundle);
    const p = Buffer.alloc(8);
    p.writeUInt32LE(offset, 0);
    p.writeUInt32LE(length, 4);
    return (await this.request(Kind.REGION_READ, id, region, 0, p)).payload;
  }

  async writeRegion(bundle: string, region: number, offset: number, bytes: Uint8Array): Promise<void> {
    const { id } = await this.resolve(bundle);
    const p = Buffer.alloc(4 + bytes.length);
    p.writeUInt32LE(offset, 0);
    p.set(bytes, 4);
    await this.request(Kind.REGION_WRITE, id, region, 0, p);
  }

  /** Remote atomic; returns the old value. */
  async atomic(bundle: string, region: number, op: keyof typeof AtomicOp, offset: number, a: bigint, b = 0n): Promise<bigint> {
    const { id } = await this.resolve(bundle);
    const p = Buffer.alloc(24);
    p.writeUInt8(AtomicOp[op], 0);
    p.writeUInt32LE(offset, 4);
    p.writeBigUInt64LE(BigInt.asUintN(64, a), 8);
    p.writeBigUInt64LE(BigInt.asUintN(64, b), 16);
    const r = await this.request(Kind.REGION_ATOMIC, id, region, 0, p);
    return Buffer.from(r.payload).readBigUInt64LE(0);
  }

  /** Authenticates this connection (the first frame); resolves with the tenant it acts as (null: admin). */
  async authenticate(token: string): Promise<string | null> {
    const r = await this.request(Kind.AUTH, 0, 0, 0, Buffer.from(token, 'utf8'));
    return (JSON.parse(Buffer.from(r.payload).toString('utf8')) as { tenant: string | null }).tenant;
  }

  /** The server's live place signals and counters. */
  async stats(): Promise<unknown> {
    return JSON.parse(Buffer.from((await this.request(Kind.STATS, 0, 0, 0, new Uint8Array(0))).payload).toString('utf8'));
  }

  close(): void {
    this.fail(new RoamError('E_DISCONNECTED', 'client closed'));
    this.reporter?.close();
    void this.local?.close();
  }
}

/** Connects to a roam server (`roam serve`): `connect('roam://127.0.0.1:7878')`, `connect(7878)` or options. */
export async function connect(target: ConnectOptions | number | string, more: Omit<ConnectOptions, 'port' | 'host'> = {}): Promise<Client> {
  const o = { ...more, ...parseTarget(target) };
  const socket = net.connect(o.port, o.host ?? '127.0.0.1');
  await new Promise<void>((res, rej) => socket.once('connect', res).once('error', (e) => rej(new RoamError('E_CONNECT', `cannot connect to ${o.host ?? '127.0.0.1'}:${o.port}: ${e.message}`))));
  const client = new Client(socket, o.maxFrame, o);
  if (o.token !== undefined) {
    try {
      await client.authenticate(o.token);
    } catch (e) {
      client.close();
      throw e;
    }
  }
  return client;
}

function parseTarget(t: ConnectOptions | number | string): ConnectOptions {
  if (typeof t === 'number') return { port: t };
  if (typeof t !== 'string') return t;
  const u = new URL(t.includes('://') ? t : `roam://${t}`);
  const port = Number(u.port);
  if (!port) throw new RoamError('E_USAGE', `'${t}' names no port (e.g. roam://127.0.0.1:7878)`);
  return { host: u.hostname || '127.0.0.1', port };
}
