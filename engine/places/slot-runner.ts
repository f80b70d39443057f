// The global `performance` is a lazy getter in Node 20 (~7 ns per access on top of now()'s ~50 ns).
import { performance } from 'node:perf_hooks';
import { Engine, type Deployment } from '../runtime/engine.ts';
import { RegionStore } from '../regions/region-store.ts';
import { RoamError, isRoamError } from '../errors.ts';
import type { Mailbox } from './mailbox.ts';
import type { EntryPoint } from '../runtime/guest-instance.ts';

export interface Executed {
  status: 0 | 1;
  out: Uint8Array;
  fuel: number;
  ns: number;
  /** performance.now() when it finished. */
  end: number;
}

/** What a place needs to run a bundle: its bytes and the region buffers, keyed by regionKey (`tenant/bundle/region`). */
export interface BundleInfo {
  id: number;
  bytes: Uint8Array;
  regions: Record<string, ArrayBufferLike>;
}

interface Loaded {
  bytes: Uint8Array;
  dep?: Deployment;
  /** Entry point per handler type, resolved once. */
  entries?: Map<number, EntryPoint>;
}

/**
 * The running side of a place (a host worker thread or the DPU agent): claims queued slots, runs the
 * handler and writes the reply back into the slot. Bundles are compiled on first use, so hundreds of
 * deployed tenants cost nothing until they receive messages.
 */
export class SlotRunner {
  private readonly buffers = new Map<string, ArrayBufferLike>();
  private readonly engine: Engine;
  private readonly bundles = new Map<number, Loaded>();
  /** Time this thread was not idle, ns. Not just handler time: co-located work sharing the thread (other
   *  tenants, the demo's simulated load) makes a place busy too, so the event loop's utilization is the measure. */
  get busyNs(): number {
    return performance.eventLoopUtilization().active * 1e6;
  }

  /** `engine`: one of the caller's (the remote DPU agent's: its regions reached over UCX, engine/server/remote-agent.ts);
   *  by default one whose regions are the buffers `deploy` shares (host workers, the shm agent). */
  constructor(engine?: Engine) {
    this.engine = engine ?? new Engine({
      regions: new RegionStore((key, size) => {
        const b = this.buffers.get(key);
        if (!b || b.byteLength < size) throw new RoamError('E_REGION', `region '${key}' was not shared with this place`);
        return b;
      }),
    });
  }

  deploy(info: BundleInfo): void {
    for (const [k, b] of Object.entries(info.regions)) this.buffers.set(k, b);
    this.bundles.set(info.id, { bytes: info.bytes });
  }

  /** Forgets bundle `id` and unmaps its regions (they are freed once nothing else holds them). */
  undeploy(info: BundleInfo): void {
    for (const k of Object.keys(info.regions)) {
      this.buffers.delete(k);
      // The engine's store caches by key: a bundle deleted and deployed again got new memory at the owner.
      this.engine.regions.forget(k);
    }
    this.bundles.delete(info.id);
  }

  private load(id: number): Loaded & { dep: Deployment; entries: Map<number, EntryPoint> } {
    const b = this.bundles.get(id);
    if (!b) throw new RoamError('E_NO_BUNDLE', `no bundle with id ${id} at this place`);
    if (!b.dep) loaded(b, this.engine.deploy(b.bytes));
    return b as Loaded & { dep: Deployment; entries: Map<number, EntryPoint> };
  }

  /** True when bundle `id` is compiled here (its next message runs without compiling). */
  ready(id: number): boolean {
    return this.bundles.get(id)?.dep !== undefined;
  }

  /** Compiles bundle `id` off this thread; a later execute() then does not stall on it. */
  async prepare(id: number): Promise<void> {
    const b = this.bundles.get(id);
    if (!b || b.dep) return;
    const dep = await this.engine.deployAsync(b.bytes);
    // A redeploy meanwhile replaced `b` in the map: this result is simply dropped with it.
    b.dep ??= loaded(b, dep).dep;
  }

  /**
   * Runs one slot if still queued (never throws: failures become error replies); returns the clock at its end. `start` is the clock when this slot's turn
   * began: a batch passes each run's end as the next one's start (one clock reading per message, not two).
   */
  run(mb: Mailbox, slot: number, start = performance.now()): number {
    if (!mb.claim(slot)) return start;
    const h = mb.h(slot);
    const r = this.execute(mb.i32[h + 1]!, mb.i32[h + 2]!, mb.input(slot), start);
    mb.finish(slot, r.status, r.out, r.ns, r.fuel);
    return r.end;
  }

  /**
   * Runs one message; never throws: a failure is status 1 with `CODE message` as its output. The result
   * and its `out` are reused: valid until this runner's next execute (every caller copies the reply into
   * a slot or a socket buffer at once), which spares a copy and two objects per message.
   */
  execute(bundle: number, handler: number, input: Uint8Array, t0 = performance.now()): Executed {
    const r = this.result;
    try {
      const { dep, entries } = this.load(bundle);
      const entry = entries.get(handler);
      if (entry === undefined) throw new RoamError('E_NO_HANDLER', `bundle '${dep.manifest.name}' has no handler with type ${handler}`);
      const c = dep.callEntry(entry, input, undefined, true);
      r.status = 0;
      r.out = c.reply;
      r.fuel = c.fuelUsed;
    } catch (e) {
      r.status = 1;
      r.out = Buffer.from(isRoamError(e) ? `${e.code} ${e.message}` : `E_INTERNAL ${(e as Error)?.message ?? String(e)}`);
      r.fuel = 0;
    }
    r.end = performance.now();
    r.ns = Math.round((r.end - t0) * 1e6);
    return r;
  }
  private readonly result: Executed = { status: 0, out: new Uint8Array(0), fuel: 0, ns: 0, end: 0 };
}

function loaded(b: Loaded, dep: Deployment): Loaded {
  b.entries = new Map(dep.manifest.handlers.map((h) => [h.type, dep.entry(h.name)]));
  b.dep = dep;
  return b;
}
