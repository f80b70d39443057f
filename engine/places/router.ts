import { performance } from 'node:perf_hooks';
import { RoamError, isRoamError } from '../errors.ts';
import type { Bundle } from '../bundle/bundle.ts';
import { RegionStore } from '../regions/region-store.ts';
import { Steering, type SteeringOptions } from '../steering/policy.ts';
import { Place as WirePlace } from '../wire/frame.ts';
import type { RdmaHost } from '../rdma/host.ts';
import type { ComponentDeployment } from '../components/message-deployment.ts';
import { HostPool, type HostPoolOptions } from './host-pool.ts';
import { BundleTable, type Registered } from './bundle-table.ts';
import { DpuPlace } from './dpu-place.ts';
import { RemoteDpuPlace } from './remote-dpu-place.ts';
import type { Pending, Place, PlaceResult, ServerPlace } from './types.ts';

export interface RouterOptions {
  host?: HostPoolOptions;
  /** The dpu place: a DpuPlace (already started; regions then live in POSIX shm), or a RemoteDpuPlace
   *  (an agent attaches over the wire door and reaches the regions through UCX: needs `rdma`). */
  dpu?: Place;
  steering?: SteeringOptions;
  /** Multiplier on the dpu place's estimated reply time (default 1.5: host preferred when equal). */
  dpuBias?: number;
  /** The routing table (default: a new one, its regions in POSIX shm when there is a DPU place). */
  table?: BundleTable;
  /** A tenant's weight, for fair queueing of handler messages at the host (default: all 1). */
  weight?: (tenant: string) => number;
  /** Regions registered with UCX (engine/rdma/host.ts): the table's region store comes from it. */
  rdma?: RdmaHost;
}

/** What routing counts; a front door's stats object extends it (one object, counted in place). */
export interface RouteStats {
  calls: number;
  /** Messages steered to the host that ran on the network thread (counted in byPlace.host too). */
  inline: number;
  byPlace: Record<ServerPlace, number>;
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

const fail = (code: string, message: string): PlaceResult => ({ ok: false, code, message });
export const noBundle = (id: number) => new RoamError('E_NO_BUNDLE', `no bundle with id ${id} is deployed`);

/**
 * The places' router: the routing table, the host pool (its inline lane), the DPU place and steering. A
 * message (`Pending`, from any front door) goes to the place that answers soonest, or is answered with an
 * error; a bundle is deployed to and removed from every place. It knows nothing of connections, frames or
 * tokens: the wire front door (engine/server/wire-door.ts) checks those before it calls `route`.
 */
export interface PlacesMemory {
  host: ReturnType<HostPool['memory']>;
  dpu: { loaded: number; modules: number } | null;
}

export class PlaceRouter {
  readonly table: BundleTable;
  readonly host: HostPool;
  readonly dpu: Place | undefined;
  readonly places: readonly Place[];
  readonly steering: Steering<ServerPlace>;
  /** One candidate per place, refreshed per message (no array or object per message on the hot path). */
  private readonly candidates: Array<{ name: ServerPlace; signals: ReturnType<Place['signals']>; bias: number }>;
  private autoSeen = 0;

  constructor(opts: RouterOptions, readonly stats: RouteStats) {
    const dpuPlace = opts.dpu instanceof DpuPlace ? opts.dpu : null;
    const dpuMemory = dpuPlace ? { allocator: dpuPlace.allocator, release: (k: string) => dpuPlace.release(k) } : undefined;
    this.table = opts.table ?? new BundleTable(opts.rdma ? opts.rdma.regionStore(dpuMemory) : dpuMemory ? new RegionStore(dpuMemory.allocator, dpuMemory.release) : undefined);
    this.host = new HostPool(opts.host);
    if (opts.weight) {
      const weight = opts.weight;
      const table = this.table;
      this.host.weightOf = (id) => {
        const b = table.get(id);
        return b ? weight(b.tenant) : 1;
      };
    }
    this.dpu = opts.dpu;
    this.places = this.dpu ? [this.host, this.dpu] : [this.host];
    this.steering = new Steering<ServerPlace>(opts.steering);
    // Most tiny messages run inline before steering looks: a shift counts them too (steering/shifts.ts).
    this.steering.bypassed = (key) => this.host.inline.runsOf(Number(key));
    // DPU cores are slower and fewer than host cores: prefer the host until it is clearly congested.
    const dpuBias = opts.dpuBias ?? 1.5;
    this.candidates = this.places.map((p) => ({ name: p.name, signals: p.signals(), bias: p.name === 'dpu' ? dpuBias : 1 }));
    // Queued messages rescued from a dead host worker or agent are steered again.
    const reroute = (p: Pending) => this.reroute(p);
    this.host.onOrphan = reroute;
    if (dpuPlace) dpuPlace.onOrphan = reroute;
    if (this.dpu instanceof RemoteDpuPlace) {
      this.dpu.onOrphan = reroute;
      const rdma = opts.rdma;
      this.dpu.keys = (id, descriptor) => {
        const b = this.table.get(id);
        if (!b) throw new RoamError('E_NO_BUNDLE', `no bundle with id ${id} is deployed`);
        if (!rdma) throw new RoamError('E_NO_RDMA', 'this server runs without --rdma');
        return rdma.info(b.manifest, descriptor);
      };
    }
  }

  /** Routes one message (p.accepted set by the caller) to a place, or answers it with an error. */
  route(p: Pending, place: number): void {
    this.stats.calls++;
    const b = this.table.get(p.bundle);
    if (!b) return p.done(fail('E_NO_BUNDLE', noBundle(p.bundle).message));
    this.table.calls[p.bundle]!++; // /metrics: messages per bundle (engine/server/wire-metrics.ts)
    if (!b.handlers.has(p.handler)) return p.done(fail('E_NO_HANDLER', `bundle '${b.manifest.name}' has no handler with type ${p.handler}`));
    if (b.component) return this.callComponent(b, p, place);
    const host = this.host;
    // A tiny handler while the host workers hold nothing runs right here on the network thread, before
    // steering looks: no place can answer sooner than zero hops (inline-lane.ts). Every STEER_EVERY-th
    // message still goes through steering, so it keeps probing the other places: their signals must be
    // live when the host congests (a DPU last seen cold-starting looks slow for good). Not a pinned
    // message: `host` means the worker pool.
    const auto = place === WirePlace.AUTO;
    // The probe message tries the inline lane only once steering picked the host; any other `auto` one
    // has tried it here already (a second try would find the same answer).
    const probe = auto && (++this.autoSeen & (STEER_EVERY - 1)) === 0;
    if (auto && !probe && p.payload.length <= host.maxPayload && host.tryInline(p)) return this.inlined();
    const target = this.pick(b, p.handler, place, p.accepted);
    if (!('submit' in target)) return p.done(target);
    if (p.payload.length > target.maxPayload) return p.done(fail('E_TOO_LARGE', `payload of ${p.payload.length} bytes exceeds the ${target.maxPayload}-byte message limit`));
    if (target === host && probe && host.tryInline(p)) return this.inlined();
    this.stats.byPlace[target.name]++;
    target.submit(p);
  }

  /** Runs one message through steering and a place, without a socket (tests, in-process callers). A
   *  successful reply may be a view into the place's slot, valid only while `done` runs: copy it to keep it. */
  dispatch(bundle: number, handler: number, payload: Uint8Array, place: number, done: (r: PlaceResult) => void): void {
    this.route({ bundle, handler, payload, accepted: turnNow(), done }, place);
  }

  /** Deploys an admitted core bundle to every place; a redeploy keeps the wire id. */
  install(bundle: Bundle): Registered {
    const r = this.table.install(bundle);
    for (const p of this.places) p.deploy(r.info);
    return r;
  }

  /** Verifies and deploys a core handler bundle (in-process callers; the server's registry uses `install`). */
  deploy(bytes: Uint8Array): Registered {
    return this.install(this.table.engine.admission.checkCore(bytes));
  }

  /** Starts a message-handler component's worker (nothing is routed to it until `installComponent`). */
  async startComponent(bytes: Uint8Array, env?: Record<string, string>): Promise<ComponentDeployment> {
    const { ComponentDeployment } = await import('../components/message-deployment.ts');
    return ComponentDeployment.deploy(this.table.engine, bytes, env ? { env } : {});
  }

  /** What the places hold compiled (host workers, the inline lane, the DPU agent): bounded over any number of redeploys. */
  memory(): PlacesMemory {
    return { host: this.host.memory(), dpu: this.dpu instanceof DpuPlace ? this.dpu.memory() : null };
  }

  /** Routes a started component's messages to it from now on (synchronous: the swap cannot fail halfway). */
  installComponent(c: ComponentDeployment, bytes: Uint8Array): Registered {
    return this.table.installComponent(c, bytes);
  }

  /** Removes a bundle from every place and frees its regions (unless kept); undefined when none is deployed. */
  remove(name: string, keepRegions = false): Registered | undefined {
    const r = this.table.remove(name);
    if (!r) return undefined;
    if (!r.component) for (const p of this.places) p.undeploy(r.info);
    if (!keepRegions) this.table.regions.free(r.manifest);
    return r;
  }

  async close(): Promise<void> {
    await Promise.all(this.places.map((p) => p.close()));
    await this.table.closeComponents();
  }

  private inlined(): void {
    this.stats.byPlace.host++;
    this.stats.inline++;
  }

  private pick(b: Registered, handler: number, requested: number, now: number): Place | PlaceResult {
    if (requested === WirePlace.HOST) return this.host;
    const dpu = this.dpu;
    if (requested === WirePlace.DPU) return dpu?.signals().available ? dpu : fail('E_PLACE_UNAVAILABLE', 'no DPU agent is attached to this server');
    if (requested === WirePlace.CLIENT) return fail('E_BAD_PLACE', 'place client runs in the client process; send it to the server as auto, host or dpu');
    if (requested !== WirePlace.AUTO) return fail('E_BAD_PLACE', `unknown place code ${requested}`);
    const places = this.places, candidates = this.candidates;
    for (let i = 0; i < places.length; i++) candidates[i]!.signals = places[i]!.signals(now);
    // Key bundle << 16 | handler type: a number, not a string per message.
    const name = this.steering.choose(b.id * 65536 + handler, candidates, now);
    for (let i = 0; i < places.length; i++) if (places[i]!.name === name) return places[i]!;
    return fail('E_PLACE_UNAVAILABLE', 'no place can run messages right now');
  }

  /** A component's messages skip steering: its worker is its only lane (counted as host). */
  private callComponent(b: Registered, p: Pending, place: number): void {
    if (place !== WirePlace.AUTO && place !== WirePlace.HOST) return p.done(fail('E_BAD_PLACE', `bundle '${b.manifest.name}' is a component: it runs on the host (in its own worker) only`));
    this.stats.byPlace.host++;
    const t0 = performance.now();
    // A copy: the payload may be a view into a socket chunk that is reused before the worker gets it.
    b.component!.call(b.handlers.get(p.handler)!.name, p.payload.slice()).then(
      (r) => p.done({ ok: true, reply: r.reply, place: 'host', serviceNs: Math.round((performance.now() - t0) * 1e6) }),
      (e) => p.done({ ...fail(isRoamError(e) ? e.code : 'E_HANDLER', (e as Error).message), place: 'host' }),
    );
  }

  private reroute(p: Pending): void {
    const alive = this.places.filter((x) => x.signals().available);
    const t = alive.find((x) => x.name === 'host') ?? alive[0];
    if (t) t.submit(p);
    else p.done(fail('E_PLACE_UNAVAILABLE', 'no place can run messages right now'));
  }
}
