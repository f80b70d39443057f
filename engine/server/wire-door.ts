/**
 * The wire protocol's front door: one object per connection (`WireConnection`) decodes frames, checks who
 * is asking (AUTH, tenancy) and answers them — CALLs through the places' router, region reads, writes and
 * atomics on the bundle's regions, RESOLVE, FETCH_BUNDLE, STATS and RDMA_INFO. The HTTP front door
 * (engine/http) stands beside it on the same registry. Per-message work stays allocation-free but for
 * the `WireCall` each CALL needs: the connection is the decoder's and the stream's event sink, its reply
 * is encoded straight into the connection's buffer.
 */
import type { CodeCounts } from '../observe/metrics.ts';
import { performance } from 'node:perf_hooks';
import type net from 'node:net';
import { RoamError, isRoamError } from '../errors.ts';
import { FrameDecoder, type DecoderEvents } from '../wire/decoder.ts';
import { Kind, Place as WirePlace, errorPayload, type Frame } from '../wire/frame.ts';
import { OutBuffer } from '../wire/out-buffer.ts';
import { memoryRelief } from '../wire/memory-relief.ts';
import { nativeNet, nodeStream, type ByteStream, type StreamEvents } from '../wire/native-net.ts';
import { WireFlow, type FlowLimits } from '../wire/flow.ts';
import type { RdmaHost } from '../rdma/host.ts';
import { regionAtomic, regionRead, regionWrite } from '../places/region-ops.ts';
import { ConnectionLeases } from '../places/leases.ts';
import { RemoteDpuPlace, type AgentLink } from '../places/remote-dpu-place.ts';
import { noBundle, type PlaceRouter, type RouteStats } from '../places/router.ts';
import type { Registered } from '../places/bundle-table.ts';
import type { Pending, PlaceResult } from '../places/types.ts';
import { ADMIN, type Principal } from '../tenancy/auth.ts';
import type { ClientReports } from './client-reports.ts';
import { REPORT_MORE, REPORT_STOP } from '../wire/client-stats.ts';

/** Token checks for the AUTH frame (engine/tenancy's Authenticator, the same for both doors). */
export interface WireAuth {
  /** True when a connection must authenticate before anything else. */
  readonly required: boolean;
  /** The principal a token stands for; throws RoamError E_UNAUTHORIZED for a bad one. */
  principal(token: string | null): Principal;
}

export interface WireDoorStats extends RouteStats {
  connections: number;
  /** Of those, served by roam_netio rather than Node's sockets (engine/wire/native-net.ts). */
  nativeConnections: number;
  errors: number;
  corrupt: number;
  truncated: number;
  /** Locks broken because their connection closed or their lease expired while held. */
  leasesBroken: number;
  /** Old bytes logged by writes under a lease, and written back when a lease was broken (places/leases.ts). */
  undoLogged: number;
  undoRestored: number;
  /** Connections closed for want of a valid token. */
  refused: number;
  /** Connections open now, and of those held by backpressure (not read: their replies are not being read). */
  open: number;
  held: number;
  /** Connections closed because their unsent replies passed the hard cap (flow.ts maxQueued). */
  overflows: number;
}

/** What every connection of one door shares. */
export interface DoorConfig {
  router: PlaceRouter;
  stats: WireDoorStats;
  /** ERROR frames sent, by code (bounded: engine/observe/metrics.ts). */
  errorCodes: CodeCounts;
  maxFrame: number;
  auth: WireAuth | undefined;
  rdma: RdmaHost | undefined;
  flow: FlowLimits;
  leaseMs: number;
  nativeIo: boolean;
  log: (line: string) => void;
  /** What connections' client places report (CLIENT_STATS): the dashboard's client row. */
  clientReports: ClientReports;
}

const EMPTY = new Uint8Array(0);
const MORE = Uint8Array.of(REPORT_MORE);
const STOP = Uint8Array.of(REPORT_STOP);

/** A CALL from a socket on its way to a place: no closure per message; the reply is encoded on `done`. */
class WireCall implements Pending {
  readonly accepted: number;
  /** Its reply is encoded into the connection's buffer at once: it may run on this thread (inline-lane.ts). */
  readonly inline = true;
  constructor(private readonly conn: WireConnection, private readonly id: number, readonly bundle: number, readonly handler: number, readonly payload: Uint8Array) {
    this.accepted = conn.now;
    conn.flow.inflight++;
  }
  done(r: PlaceResult): void {
    if (r.ok) this.conn.out.frame(Kind.REPLY, r.place === 'host' ? WirePlace.HOST : WirePlace.DPU, this.id, this.bundle, 0, r.reply);
    else this.conn.error(this.id, this.bundle, r.code, r.message);
    this.conn.flow.answered();
  }
}

/**
 * One wire connection: the stream's events (data, close, drain, end) and the decoder's (frame, oversize,
 * corrupt) land on its methods.
 */
export class WireConnection implements StreamEvents, DecoderEvents {
  readonly out: OutBuffer;
  readonly flow: WireFlow;
  readonly stream: ByteStream;
  /** Who authenticated on this connection; null until an AUTH frame when the server requires one. */
  principal: Principal | null;
  /** performance.now() when the chunk being decoded arrived. */
  now = 0;
  /** Wire ids this connection resolved or fetched: it is told when they change (BUNDLE_CHANGED). At most
   *  one entry per deployed bundle (65536). */
  private readonly watched = new Set<number>();
  private readonly decoder: FrameDecoder;
  private readonly leases: ConnectionLeases;
  private held = false;
  /** Held by backpressure at some point: its close asks for a memory relief (engine/wire/memory-relief.ts). */
  private everHeld = false;
  private readonly peer: string;
  /** Served by roam_netio: Node's socket was handed over and is closed. */
  readonly native: boolean;
  /** Set when this connection is the remote dpu agent's (Kind.AGENT). */
  private agentLink: AgentLink | null = null;

  constructor(private readonly c: DoorConfig, socket: net.Socket, private readonly closed: (conn: WireConnection) => void) {
    const stats = c.stats;
    stats.connections++;
    stats.open++;
    this.peer = `${socket.remoteAddress}:${socket.remotePort}`;
    this.principal = c.auth?.required ? null : ADMIN;
    const adopted = c.nativeIo ? (nativeNet()?.adopt(socket, this) ?? null) : null;
    this.native = adopted !== null;
    if (adopted) stats.nativeConnections++;
    this.stream = adopted ?? nodeStream(socket, this);
    this.out = new OutBuffer(this.stream);
    this.leases = new ConnectionLeases(c.leaseMs, stats);
    this.decoder = new FrameDecoder(c.maxFrame, this);
    this.flow = new WireFlow(
      this.stream,
      this.out,
      this.decoder,
      c.flow,
      (queued) => {
        stats.overflows++;
        c.log(`wire connection ${this.peer} closed: ${queued} bytes of replies unsent (limit ${c.flow.maxQueued}); the peer is not reading`);
        this.stream.destroy();
      },
      (h) => {
        if (h === this.held) return;
        this.held = h;
        this.everHeld ||= h;
        stats.held += h ? 1 : -1;
      },
    );
    this.out.onFlushed = () => this.flow.flushed();
  }

  // ---- stream events
  data(chunk: Buffer): void {
    // One clock reading per chunk: every message in it was accepted at the same moment.
    this.now = performance.now();
    this.decoder.push(chunk);
    // Replies the chunk produced at once (the inline lane) leave now: one write per read.
    this.out.flush();
  }
  close(): void {
    const stats = this.c.stats;
    if (this.decoder.pending > 0) stats.truncated++;
    this.decoder.kill();
    // A client that died holding a seqlock (mid-put at the client place) must not leave the slot locked.
    this.leases.close();
    this.c.clientReports.drop(this);
    if (this.agentLink) this.remoteDpu()?.detach(this.agentLink);
    stats.open--;
    if (this.held) stats.held--;
    this.held = false;
    // It held output past the flow bound: the replies it left are garbage now; give the memory back.
    if (this.everHeld) memoryRelief.request();
    this.closed(this);
  }
  drain(): void {
    this.flow.release();
  }
  end(): void {
    this.flow.peerEnd();
  }

  // ---- decoder events
  frame(f: Frame): void {
    try {
      this.handle(f);
    } catch (e) {
      this.error(f.id, f.bundle, isRoamError(e) ? e.code : 'E_INTERNAL', (e as Error).message);
    }
    this.flow.check();
  }
  oversize(h: Omit<Frame, 'payload'>, len: number): void {
    this.error(h.id, h.bundle, 'E_TOO_LARGE', `frame payload of ${len} bytes exceeds the ${this.c.maxFrame}-byte limit`);
  }
  corrupt(reason: string): void {
    this.c.stats.corrupt++;
    this.error(0, 0, 'E_FRAME', `${reason}; closing the connection`);
    this.out.flush();
    this.stream.end();
  }

  error(id: number, bundle: number, code: string, message: string): void {
    this.c.stats.errors++;
    this.c.errorCodes.inc(code);
    const table = this.c.router.table;
    if (table.get(bundle)) table.errors[bundle]!++;
    this.out.frame(Kind.ERROR, 0, id, bundle, 0, errorPayload(code, message));
  }

  /** Tells the peer that a bundle it resolved or fetched has a new version, or is gone. */
  changed(r: Registered, removed: boolean): void {
    if (!this.watched.has(r.id)) return;
    // A version moved to another tenant is, to this tenant, a removal (and its version is not theirs to see).
    const t = this.principal?.tenant ?? null;
    const gone = removed || (t !== null && r.tenant !== t);
    if (gone) this.watched.delete(r.id);
    this.out.frame(Kind.BUNDLE_CHANGED, 0, 0, r.id, gone ? 1 : 0, Buffer.from(JSON.stringify({ name: r.manifest.name, version: gone ? '' : r.manifest.version })));
    this.out.flush();
  }

  private handle(f: Frame): void {
    const who = this.principal;
    if (who === null && f.kind !== Kind.AUTH) return this.refuse(f, 'authenticate first: this server has tokens (connect with { token })');
    const table = this.c.router.table;
    switch (f.kind) {
      case Kind.CALL:
        // A tenant reaches only its own bundles; another tenant's look like none at all.
        if (who!.tenant !== null && table.get(f.bundle)?.tenant !== who!.tenant) throw noBundle(f.bundle);
        return this.c.router.route(new WireCall(this, f.id, f.bundle, f.code, f.payload), f.place);
      case Kind.AUTH:
        return this.authenticate(f);
      case Kind.RESOLVE: {
        const name = Buffer.from(f.payload).toString('utf8');
        const b = table.named(name);
        if (!b || (who!.tenant !== null && b.tenant !== who!.tenant)) throw new RoamError('E_NO_BUNDLE', `no bundle named '${name}' is deployed`);
        this.watched.add(b.id);
        return this.out.frame(Kind.REPLY, 0, f.id, b.id, 0, Buffer.from(JSON.stringify({ id: b.id, manifest: b.manifest })));
      }
      case Kind.FETCH_BUNDLE: {
        const b = this.bundleOf(f);
        this.watched.add(b.id);
        return this.reply(f, b.bytes);
      }
      case Kind.REGION_READ:
        return this.reply(f, regionRead(this.bundleOf(f), f.code, f.payload, this.c.maxFrame));
      case Kind.REGION_WRITE:
        regionWrite(this.bundleOf(f), f.code, f.payload, this.leases);
        return this.reply(f, EMPTY);
      case Kind.REGION_ATOMIC:
        return this.reply(f, regionAtomic(this.bundleOf(f), f.code, f.payload, this.leases));
      case Kind.STATS: {
        const places = Object.fromEntries(this.c.router.places.map((p) => [p.name, p.signals()]));
        return this.reply(f, Buffer.from(JSON.stringify({ places, stats: this.c.stats, rdma: this.c.rdma?.stats() ?? null, memory: this.c.router.memory(), relief: memoryRelief.stats })));
      }
      case Kind.CLIENT_STATS:
        return this.reply(f, this.c.clientReports.report(this, who!.tenant, f.payload, this.now, this.wakeReports) === REPORT_MORE ? MORE : STOP);
      case Kind.RDMA_INFO:
        if (!this.c.rdma) throw new RoamError('E_NO_RDMA', 'this server runs without --rdma: use the wire protocol');
        return this.reply(f, this.c.rdma.info(this.bundleOf(f).manifest, f.payload));
      case Kind.AGENT:
        return this.attachAgent(f);
      case Kind.REPLY:
      case Kind.ERROR:
        // Answers come only from the remote agent, to the CALLs the dpu place sent it.
        if (this.agentLink) return this.remoteDpu()!.answer(f);
        throw new RoamError('E_FRAME', `a ${f.kind === Kind.REPLY ? 'REPLY' : 'ERROR'} frame from a connection that is not this server's dpu agent`);
      default:
        throw new RoamError('E_FRAME', `unknown frame kind ${f.kind}`);
    }
  }

  /** A dashboard opened: this connection's client place reports again (id 0 is never a request's). */
  private readonly wakeReports = (): void => {
    this.out.frame(Kind.CLIENT_STATS, 0, 0, 0, 0, MORE);
  };

  private remoteDpu(): RemoteDpuPlace | null {
    const d = this.c.router.dpu;
    return d instanceof RemoteDpuPlace ? d : null;
  }

  /** `roam dpu-agent --rdma`: this connection becomes the dpu place's agent (the admin's token only). */
  private attachAgent(f: Frame): void {
    const dpu = this.remoteDpu();
    if (!dpu) throw new RoamError('E_NO_AGENT', 'this server takes no remote dpu agent (start it with --rdma --dpu-remote)');
    if (this.principal!.tenant !== null) throw new RoamError('E_UNAUTHORIZED', "a dpu agent runs every tenant's handlers: it must authenticate with the admin token");
    if (dpu.attached) throw new RoamError('E_AGENT_ATTACHED', 'a dpu agent is already attached to this server');
    if (f.payload.length > 4096) throw new RoamError('E_FRAME', `AGENT payload of ${f.payload.length} bytes exceeds 4096`);
    this.reply(f, Buffer.from(JSON.stringify({ window: dpu.window })));
    this.agentLink = { frame: (...a) => this.out.frame(...a), close: () => this.stream.destroy() };
    dpu.attach(this.agentLink, f.payload);
  }

  private reply(f: Frame, payload: Uint8Array): void {
    this.out.frame(Kind.REPLY, 0, f.id, f.bundle, 0, payload);
  }

  /** The frame's bundle, if this connection's principal may reach it. */
  private bundleOf(f: Frame): Registered {
    const b = this.c.router.table.get(f.bundle);
    const t = this.principal!.tenant;
    if (!b || (t !== null && b.tenant !== t)) throw noBundle(f.bundle);
    return b;
  }

  private authenticate(f: Frame): void {
    let p: Principal;
    try {
      p = this.c.auth ? this.c.auth.principal(Buffer.from(f.payload).toString('utf8')) : ADMIN;
    } catch (e) {
      return this.refuse(f, (e as Error).message);
    }
    this.principal = p;
    this.reply(f, Buffer.from(JSON.stringify({ tenant: p.tenant })));
  }

  /** An unauthenticated connection gets one error and is closed: nothing else is read from it. */
  private refuse(f: Frame, why: string): void {
    this.c.stats.refused++;
    this.error(f.id, f.bundle, 'E_UNAUTHORIZED', why);
    this.out.flush();
    this.decoder.kill();
    this.stream.end();
  }
}

/** The door: the open connections, handed in as accepted sockets. */
export class WireDoor {
  private readonly conns = new Set<WireConnection>();
  private readonly forget = (conn: WireConnection) => this.conns.delete(conn);

  constructor(private readonly c: DoorConfig) {}

  /** Serves one accepted socket (`first`: bytes the shared port read to tell the protocol; `closed`: the
   *  port's connection count). */
  handleSocket(socket: net.Socket, first: Buffer | null = null, closed?: () => void): void {
    const conn = new WireConnection(this.c, socket, closed ? (x) => (this.forget(x), closed()) : this.forget);
    this.conns.add(conn);
    if (first) conn.data(first);
    // Accepted paused (listenWire's pauseOnConnect, the shared port's first-byte check): Node reads from here on.
    if (!conn.native && socket.isPaused()) socket.resume();
  }

  /** Tells every connection that resolved or fetched bundle `r` that it has a new version or is gone. */
  changed(r: Registered, removed: boolean): void {
    for (const conn of this.conns) conn.changed(r, removed);
  }

  close(): void {
    for (const conn of this.conns) conn.stream.destroy();
  }
}
