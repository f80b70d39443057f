import { performance } from 'node:perf_hooks';
import net from 'node:net';
import { RoamError, isRoamError } from '../errors.ts';
import { HostPool, type HostPoolOptions } from './host-pool.ts';
import { BundleTable, type Registered } from './bundle-table.ts';
import type { Bundle } from '../bundle/bundle.ts';

import { RegionStore } from '../regions/region-store.ts';
import { DpuPlace } from './dpu-place.ts';
import type { Pending, Place, PlaceResult, Principal, ServerPlace, WireAuth } from './types.ts';
import { Steering, type SteeringOptions } from '../steering/policy.ts';
import { FrameDecoder } from '../wire/decoder.ts';
import { DEFAULT_MAX_FRAME, Kind, Place as WirePlace, errorPayload, type Frame } from '../wire/frame.ts';
import { OutBuffer } from '../wire/out-buffer.ts';
import { nativeNet, nodeStream, type ByteStream, type StreamEvents } from '../wire/native-net.ts';
import { regionAtomic, regionRead, regionWrite } from './region-ops.ts';
import { ConnectionLeases, DEFAULT_LEASE_MS } from './leases.ts';
import { DEFAULT_FLOW, WireFlow, type FlowLimits } from '../wire/flow.ts';
import type { RdmaHost } from '../rdma/host.ts';
import { CodeCounts } from '../observe/metrics.ts';
import { log as engineLog } from '../observe/log.ts';

export interface WireServerOptions {
  /** Largest frame payload accepted (bytes); larger frames get E_TOO_LARGE and are skipped. */
  maxFrame?: number;
  host?: HostPoolOptions;
  /** The dpu place (a DpuPlace, already started); regions then live in POSIX shm. */
  dpu?: Place;
  steering?: SteeringOptions;
  /** Multiplier on the dpu place's estimated reply time (default 1.5: host preferred when equal). */
  dpuBias?: number;
  /** The routing table (default: a new one, its regions in POSIX shm when there is a DPU place). */
  table?: BundleTable;
  /** A tenant's weight, for fair queueing of handler messages at the host (default: all 1). */
  weight?: (tenant: string) => number;
  /** Token check for the AUTH frame; when it requires a token, a connection must authenticate first.
   *  Without it connections are open (in-process servers and tests). */
  auth?: WireAuth;
  /** Bundles (.wasm bytes) deployed at start. */
  bundles?: Uint8Array[];
  /** Host worker threads (shorthand for host.workers). */
  hostWorkers?: number;
  /** Lease on a seqlock a connection takes with a remote CAS, ms (engine/places/leases.ts; default 2000). */
  leaseMs?: number;
  /** Serve connections with native-host's roam_netio where it is built (default), or false: Node's
   *  sockets (engine/wire/native-net.ts). */
  nativeIo?: boolean;
  /** Output backpressure per connection (engine/wire/flow.ts). */
  flow?: Partial<FlowLimits>;
  /** Where a connection closed by the server's own limits is reported (default: the engine's logger, as a warning). */
  log?: (line: string) => void;
  /** `roam serve --rdma`: region memory registered with UCX, RDMA_INFO answered (engine/rdma/host.ts). */
  rdma?: RdmaHost;
}

export interface WireServerStats {
  connections: number;
  /** Of those, served by roam_netio rather than Node's sockets (engine/wire/native-net.ts). */
  nativeConnections: number;
  calls: number;
  errors: number;
  corrupt: number;
  truncated: number;
  /** Locks broken because their connection closed or their lease expired while held. */
  leasesBroken: number;
  /** Old bytes logged by writes under a lease, and written back when a lease was broken (leases.ts). */
  undoLogged: number;
  undoRestored: number;
  /** Messages steered to the host that ran on the network thread (counted in byPlace.host too). */
  inline: number;
  /** Connections closed for want of a valid token. */
  refused: number;
  byPlace: Record<ServerPlace, number>;
  /** Connections open now, and of those held by backpressure (not read: their replies are not being read). */
  open: number;
  held: number;
  /** Connections closed because their unsent replies passed the hard cap (flow.ts maxQueued). */
  overflows: number;
}

export interface WireServer {
  /** Serves one accepted socket (the lead's `roam serve` hands over sockets whose first byte is 0xB7,
   *  with the bytes it read to find out as `first`). */
  handleSocket(socket: net.Socket, first?: Buffer | null, closed?: () => void): void;
  /** Verifies and deploys a core handler bundle (in-process callers; the server's registry uses `install`). */
  deploy(bytes: Uint8Array): Registered;
  /** Deploys an admitted core bundle to every place; a redeploy keeps the wire id. */
  install(bundle: Bundle): Registered;
  /** A message-handler component: served in its own worker beside the places (auto/host only), sharing the regions. */
  deployComponent(bytes: Uint8Array): Promise<Registered>;
  /** Removes a bundle from every place and frees its regions (unless kept: a new version without handlers
   *  still owns them); false when no such bundle is deployed. */
  remove(name: string, opts?: { keepRegions?: boolean }): boolean;
  readonly table: BundleTable;
  readonly host: HostPool;
  readonly dpu: Place | undefined;
  readonly steering: Steering<ServerPlace>;
  readonly stats: WireServerStats;
  /** ERROR frames sent, by code (bounded: observe/metrics.ts). */
  readonly errorCodes: CodeCounts;
  /** Runs one message through steering and a place, without a socket (tests, in-process callers). A
   *  successful reply may be a view into the place's slot, valid only while `done` runs: copy it to keep it. */
  dispatch(bundle: number, handler: number, payload: Uint8Array, place: number, done: (r: PlaceResult) => void): void;
  close(): Promise<void>;
}

interface Conn {
  out: OutBuffer;
  flow: WireFlow;
  /** Who authenticated on this connection; null until an AUTH frame when the server requires one. */
  principal: Principal | null;
  /** performance.now() when the chunk being decoded arrived. */
  now: number;
  error(id: number, bundle: number, code: string, message: string): void;
}

let turnClock = -1;
let turnReads = 0;
const endTurn = () => {
  turnClock = -1;
};
/**
 * The clock for `dispatch`: read at a task's first call and every 32nd after it, not per message
 * (`performance.now()` costs ~50 ns here, a tenth of a host-pool message's server work). A completion
 * pass re-dispatching its batch accepts them at one moment, as a socket read does; a long synchronous
 * loop of dispatches is still timed to within 32 calls.
 */
function turnNow(): number {
  if (turnClock < 0) queueMicrotask(endTurn);
  else if ((++turnReads & 31) !== 0) return turnClock;
  return (turnClock = performance.now());
}

/** One `auto` message in this many reaches steering even when the inline lane could take it (a power of two). */
const STEER_EVERY = 16;

/** A CALL from a socket on its way to a place: no closure per message; the reply is encoded on `done`. */
class WireCall implements Pending {
  readonly accepted: number;
  /** Its reply is encoded into the connection's buffer at once: it may run on this thread (inline-lane.ts). */
  readonly inline = true;
  constructor(private readonly conn: Conn, private readonly id: number, readonly bundle: number, readonly handler: number, readonly payload: Uint8Array) {
    this.accepted = conn.now;
    conn.flow.inflight++;
  }
  done(r: PlaceResult): void {
    if (r.ok) this.conn.out.frame(Kind.REPLY, r.place === 'host' ? WirePlace.HOST : WirePlace.DPU, this.id, this.bundle, 0, r.reply);
    else this.conn.error(this.id, this.bundle, r.code, r.message);
    this.conn.flow.answered();
  }
}

/** A server for the binary protocol: owns the bundles' regions, runs handlers at its places; sockets are handed in. */
export function createWireServer(opts: WireServerOptions = {}): WireServer {
  const ws = createCore(opts.hostWorkers === undefined ? opts : { ...opts, host: { ...opts.host, workers: opts.hostWorkers } });
  for (const b of opts.bundles ?? []) ws.deploy(b);
  return ws;
}

function createCore(opts: WireServerOptions): WireServer {
  const maxFrame = opts.maxFrame ?? DEFAULT_MAX_FRAME;
  const dpuPlace = opts.dpu instanceof DpuPlace ? opts.dpu : null;
  const dpuMemory = dpuPlace ? { allocator: dpuPlace.allocator, release: (k: string) => dpuPlace.release(k) } : undefined;
  const registry = opts.table ?? new BundleTable(opts.rdma ? opts.rdma.regionStore(dpuMemory) : dpuMemory ? new RegionStore(dpuMemory.allocator, dpuMemory.release) : undefined);
  const host = new HostPool(opts.host);
  if (opts.weight) {
    const weight = opts.weight;
    host.weightOf = (id) => {
      const b = registry.get(id);
      return b ? weight(b.tenant) : 1;
    };
  }
  const dpu = opts.dpu;
  const places: Place[] = dpu ? [host, dpu] : [host];
  const steering = new Steering<ServerPlace>(opts.steering);
  // Most tiny messages run inline before steering looks: a shift counts them too (steering/shifts.ts).
  steering.bypassed = (key) => host.inline.runsOf(Number(key));
  // DPU cores are slower and fewer than host cores: prefer the host until it is clearly congested.
  const dpuBias = opts.dpuBias ?? 1.5;
  const streams = new Set<ByteStream>();
  const stats: WireServerStats = { connections: 0, nativeConnections: 0, calls: 0, errors: 0, corrupt: 0, truncated: 0, leasesBroken: 0, undoLogged: 0, undoRestored: 0, inline: 0, refused: 0, byPlace: { host: 0, dpu: 0 }, open: 0, held: 0, overflows: 0 };
  const flowLimits: FlowLimits = { ...DEFAULT_FLOW, ...opts.flow };
  const errorCodes = new CodeCounts();
  const log = opts.log ?? ((line: string) => engineLog('warn', line));

  const fail = (code: string, message: string): PlaceResult => ({ ok: false, code, message });

  // One candidate per place, refreshed per message (no array or object per message on the hot path).
  const candidates = places.map((p) => ({ name: p.name, signals: p.signals(), bias: p.name === 'dpu' ? dpuBias : 1 }));
  function pick(b: Registered, handler: number, requested: number, now: number): Place | PlaceResult {
    if (requested === WirePlace.HOST) return host;
    if (requested === WirePlace.DPU) return dpu?.signals().available ? dpu : fail('E_PLACE_UNAVAILABLE', 'no DPU agent is attached to this server');
    if (requested === WirePlace.CLIENT) return fail('E_BAD_PLACE', 'place client runs in the client process; send it to the server as auto, host or dpu');
    if (requested !== WirePlace.AUTO) return fail('E_BAD_PLACE', `unknown place code ${requested}`);
    for (let i = 0; i < places.length; i++) candidates[i]!.signals = places[i]!.signals(now);
    // Key bundle << 16 | handler type: a number, not a string per message.
    const name = steering.choose(b.id * 65536 + handler, candidates, now);
    return places.find((p) => p.name === name) ?? fail('E_PLACE_UNAVAILABLE', 'no place can run messages right now');
  }

  let autoSeen = 0;
  const inlined = () => {
    stats.byPlace.host++;
    stats.inline++;
  };
  /** Routes one message (p.accepted set by the caller) to a place, or answers it with an error. */
  function route(p: Pending, place: number): void {
    stats.calls++;
    const b = registry.get(p.bundle);
    if (!b) return p.done(fail('E_NO_BUNDLE', noBundle(p.bundle).message));
    registry.calls[p.bundle]!++;
    if (!b.handlers.has(p.handler)) return p.done(fail('E_NO_HANDLER', `bundle '${b.manifest.name}' has no handler with type ${p.handler}`));
    if (b.component) return callComponent(b, p, place);
    // A tiny handler while the host workers hold nothing runs right here on the network thread, before
    // steering looks: no place can answer sooner than zero hops (inline-lane.ts). Every STEER_EVERY-th
    // message still goes through steering, so it keeps probing the other places: their signals must be
    // live when the host congests (a DPU last seen cold-starting looks slow for good). Not a pinned
    // message: `host` means the worker pool.
    const auto = place === WirePlace.AUTO;
    // The probe message tries the inline lane only once steering picked the host; any other `auto` one
    // has tried it here already (a second try would find the same answer).
    const probe = auto && (++autoSeen & (STEER_EVERY - 1)) === 0;
    if (auto && !probe && p.payload.length <= host.maxPayload && host.tryInline(p)) return inlined();
    const target = pick(b, p.handler, place, p.accepted);
    if (!('submit' in target)) return p.done(target);
    if (p.payload.length > target.maxPayload) return p.done(fail('E_TOO_LARGE', `payload of ${p.payload.length} bytes exceeds the ${target.maxPayload}-byte message limit`));
    if (target === host && probe && host.tryInline(p)) return inlined();
    stats.byPlace[target.name]++;
    target.submit(p);
  }
  /** A component's messages skip steering: its worker is its only lane (counted as host). */
  function callComponent(b: Registered, p: Pending, place: number): void {
    if (place !== WirePlace.AUTO && place !== WirePlace.HOST) return p.done(fail('E_BAD_PLACE', `bundle '${b.manifest.name}' is a component: it runs on the host (in its own worker) only`));
    stats.byPlace.host++;
    const t0 = performance.now();
    // A copy: the payload may be a view into a socket chunk that is reused before the worker gets it.
    b.component!.call(b.handlers.get(p.handler)!.name, p.payload.slice()).then(
      (r) => p.done({ ok: true, reply: r.reply, place: 'host', serviceNs: Math.round((performance.now() - t0) * 1e6) }),
      (e) => p.done({ ...fail(isRoamError(e) ? e.code : 'E_HANDLER', (e as Error).message), place: 'host' }),
    );
  }
  function dispatch(bundle: number, handler: number, payload: Uint8Array, place: number, done: (r: PlaceResult) => void): void {
    route({ bundle, handler, payload, accepted: turnNow(), done }, place);
  }
  // Queued messages rescued from a dead host worker or agent are steered again.
  const reroute = (p: Pending) => {
    const alive = places.filter((x) => x.signals().available);
    const t = alive.find((x) => x.name === 'host') ?? alive[0];
    if (t) t.submit(p);
    else p.done(fail('E_PLACE_UNAVAILABLE', 'no place can run messages right now'));
  };
  host.onOrphan = reroute;
  if (dpu instanceof DpuPlace) dpu.onOrphan = reroute;

  function handleSocket(socket: net.Socket, first: Buffer | null = null, closed?: () => void): void {
    stats.connections++;
    stats.open++;
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const events: StreamEvents = {
      data(c) {
        // One clock reading per chunk: every message in it was accepted at the same moment.
        conn.now = performance.now();
        decoder.push(c);
        // Replies the chunk produced at once (the inline lane) leave now: one write per read.
        out.flush();
      },
      close() {
        if (decoder.pending > 0) stats.truncated++;
        decoder.kill();
        // A client that died holding a seqlock (mid-put at the client place) must not leave the slot locked.
        leases.close();
        streams.delete(stream);
        stats.open--;
        if (held) stats.held--;
        held = false;
        closed?.(); // the shared port's connection count (engine/server/shared-port.ts)
      },
      drain() {
        conn.flow.release();
      },
      end() {
        conn.flow.peerEnd();
      },
    };
    let held = false;
    const native = opts.nativeIo === false ? null : nativeNet();
    const adopted = native?.adopt(socket, events);
    if (adopted) stats.nativeConnections++;
    const stream = adopted ?? nodeStream(socket, events);
    streams.add(stream);
    const out = new OutBuffer(stream);
    const conn: Conn = {
      out,
      flow: null as unknown as WireFlow, // set below, once the decoder exists
      principal: opts.auth?.required ? null : ADMIN,
      now: 0,
      error(id, bundle, code, message) {
        stats.errors++;
        errorCodes.inc(code);
        if (registry.get(bundle)) registry.errors[bundle]!++;
        out.frame(Kind.ERROR, 0, id, bundle, 0, errorPayload(code, message));
      },
    };
    const leases = new ConnectionLeases(opts.leaseMs ?? DEFAULT_LEASE_MS, stats);
    const reply = (f: Frame, payload: Uint8Array) => out.frame(Kind.REPLY, 0, f.id, f.bundle, 0, payload);
    const decoder = new FrameDecoder(maxFrame, {
      frame(f) {
        try {
          onFrame(f);
        } catch (e) {
          conn.error(f.id, f.bundle, isRoamError(e) ? e.code : 'E_INTERNAL', (e as Error).message);
        }
        conn.flow.check();
      },
      oversize(h, len) {
        conn.error(h.id, h.bundle, 'E_TOO_LARGE', `frame payload of ${len} bytes exceeds the ${maxFrame}-byte limit`);
      },
      corrupt(reason) {
        stats.corrupt++;
        conn.error(0, 0, 'E_FRAME', `${reason}; closing the connection`);
        out.flush();
        stream.end();
      },
    });
    conn.flow = new WireFlow(
      stream,
      out,
      decoder,
      flowLimits,
      (queued) => {
        stats.overflows++;
        log(`wire connection ${peer} closed: ${queued} bytes of replies unsent (limit ${flowLimits.maxQueued}); the peer is not reading`);
        stream.destroy();
      },
      (h) => {
        if (h === held) return;
        held = h;
        stats.held += h ? 1 : -1;
      },
    );
    out.onFlushed = () => conn.flow.flushed();
    const onFrame = (f: Frame) => {
      const who = conn.principal;
      if (who === null && f.kind !== Kind.AUTH) return refuse(f, 'authenticate first: this server has tokens (connect with { token })');
      switch (f.kind) {
        case Kind.CALL:
          // A tenant reaches only its own bundles; another tenant's look like none at all.
          if (who!.tenant !== null && registry.get(f.bundle)?.tenant !== who!.tenant) throw noBundle(f.bundle);
          return route(new WireCall(conn, f.id, f.bundle, f.code, f.payload), f.place);
        case Kind.AUTH:
          return authenticate(f);
        case Kind.RESOLVE: {
          const name = Buffer.from(f.payload).toString('utf8');
          const b = registry.named(name);
          if (!b || (who!.tenant !== null && b.tenant !== who!.tenant)) throw new RoamError('E_NO_BUNDLE', `no bundle named '${name}' is deployed`);
          return out.frame(Kind.REPLY, 0, f.id, b.id, 0, Buffer.from(JSON.stringify({ id: b.id, manifest: b.manifest })));
        }
        case Kind.FETCH_BUNDLE:
          return reply(f, bundleOf(f).bytes);
        case Kind.REGION_READ:
          return reply(f, regionRead(bundleOf(f), f.code, f.payload, maxFrame));
        case Kind.REGION_WRITE:
          regionWrite(bundleOf(f), f.code, f.payload, leases);
          return reply(f, new Uint8Array(0));
        case Kind.REGION_ATOMIC:
          return reply(f, regionAtomic(bundleOf(f), f.code, f.payload, leases));
        case Kind.STATS:
          return reply(f, Buffer.from(JSON.stringify({ places: Object.fromEntries(places.map((p) => [p.name, p.signals()])), stats, rdma: opts.rdma?.stats() ?? null })));
        case Kind.RDMA_INFO:
          if (!opts.rdma) throw new RoamError('E_NO_RDMA', 'this server runs without --rdma: use the wire protocol');
          return reply(f, opts.rdma.info(bundleOf(f).manifest, f.payload));
        default:
          throw new RoamError('E_FRAME', `unknown frame kind ${f.kind}`);
      }
    };
    const bundleOf = (f: Frame) => {
      const b = registry.get(f.bundle);
      const t = conn.principal!.tenant;
      if (!b || (t !== null && b.tenant !== t)) throw noBundle(f.bundle);
      return b;
    };
    const authenticate = (f: Frame) => {
      let p: Principal;
      try {
        p = opts.auth ? opts.auth.principal(Buffer.from(f.payload).toString('utf8')) : ADMIN;
      } catch (e) {
        return refuse(f, (e as Error).message);
      }
      conn.principal = p;
      reply(f, Buffer.from(JSON.stringify({ tenant: p.tenant })));
    };
    /** An unauthenticated connection gets one error and is closed: nothing else is read from it. */
    const refuse = (f: Frame, why: string) => {
      stats.refused++;
      conn.error(f.id, f.bundle, 'E_UNAUTHORIZED', why);
      out.flush();
      decoder.kill();
      stream.end();
    };
    if (first) events.data(first);
    // Accepted paused (listenWire's pauseOnConnect, the shared port's first-byte check): Node reads from here on.
    if (!adopted && socket.isPaused()) socket.resume();
  }

  function install(bundle: Bundle): Registered {
    const r = registry.install(bundle);
    for (const p of places) p.deploy(r.info);
    return r;
  }

  return {
    handleSocket,
    table: registry,
    host,
    dpu,
    steering,
    stats,
    errorCodes,
    dispatch,
    install,
    deploy: (bytes) => install(registry.engine.admission.checkCore(bytes)),
    async deployComponent(bytes) {
      const { ComponentDeployment } = await import('../components/message-deployment.ts');
      return registry.installComponent(await ComponentDeployment.deploy(registry.engine, bytes), bytes);
    },
    remove(name, o = {}) {
      const r = registry.remove(name);
      if (!r) return false;
      if (!r.component) for (const p of places) p.undeploy(r.info);
      if (!o.keepRegions) registry.regions.free(r.manifest);
      return true;
    },
    async close() {
      for (const s of streams) s.destroy();
      await Promise.all(places.map((p) => p.close()));
      await registry.closeComponents();
    },
  };
}

const ADMIN: Principal = Object.freeze({ tenant: null });
const noBundle = (id: number) => new RoamError('E_NO_BUNDLE', `no bundle with id ${id} is deployed`);

/** Convenience for tests and `roam serve`: a TCP listener speaking only the binary protocol. */
export async function listenWire(opts: WireServerOptions & { port?: number; hostname?: string } = {}): Promise<WireServer & { port: number; server: net.Server }> {
  const ws = createWireServer(opts);
  // Paused at accept: the native path takes the fd before Node reads anything.
  // Half-open: a client that sends its requests and then its FIN still gets every reply (wire/flow.ts).
  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (s) => ws.handleSocket(s));
  await new Promise<void>((res, rej) => server.once('error', rej).listen(opts.port ?? 0, opts.hostname ?? '127.0.0.1', res));
  server.on('error', (e) => engineLog('error', 'wire listener error', { message: e.message })); // accept failures (EMFILE) are not fatal
  const port = (server.address() as net.AddressInfo).port;
  const closeWire = ws.close;
  return Object.assign(ws, {
    port,
    server,
    async close() {
      server.close();
      await closeWire();
    },
  });
}
