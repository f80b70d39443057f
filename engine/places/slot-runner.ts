import { performance as perfHooks } from 'node:perf_hooks';
import { Engine, type Deployment } from '../runtime/engine.ts';
import { RegionStore } from '../regions/region-store.ts';
import { RoamError, isRoamError } from '../errors.ts';
import { Mailbox } from './mailbox.ts';
import type { EntryPoint } from '../runtime/guest-instance.ts';

/** What a place needs to run a bundle: its bytes and the region buffers, keyed `bundle/region`. */
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
    return perfHooks.eventLoopUtilization().active * 1e6;
  }

  constructor() {
    this.engine = new Engine({
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

  private load(id: number): Loaded & { dep: Deployment; entries: Map<number, EntryPoint> } {
    const b = this.bundles.get(id);
    if (!b) throw new RoamError('E_NO_BUNDLE', `no bundle with id ${id} at this place`);
    if (!b.dep) {
      const dep = this.engine.deploy(b.bytes);
      b.entries = new Map(dep.manifest.handlers.map((h) => [h.type, dep.entry(h.name)]));
      b.dep = dep;
    }
    return b as Loaded & { dep: Deployment; entries: Map<number, EntryPoint> };
  }

  /** Runs one slot if still queued. Never throws: failures become error replies. */
  run(mb: Mailbox, slot: number): void {
    if (!mb.claim(slot)) return;
    const t0 = performance.now();
    const h = mb.h(slot);
    const bundle = mb.i32[h + 1]!, handler = mb.i32[h + 2]!;
    let status: 0 | 1 = 0;
    let out: Uint8Array;
    let fuel = 0;
    try {
      const { dep, entries } = this.load(bundle);
      const entry = entries.get(handler);
      if (entry === undefined) throw new RoamError('E_NO_HANDLER', `bundle '${dep.manifest.name}' has no handler with type ${handler}`);
      const r = dep.callEntry(entry, mb.input(slot));
      out = r.reply;
      fuel = r.fuelUsed;
    } catch (e) {
      status = 1;
      out = Buffer.from(isRoamError(e) ? `${e.code} ${e.message}` : `E_INTERNAL ${(e as Error)?.message ?? String(e)}`);
    }
    const ns = Math.round((performance.now() - t0) * 1e6);
    mb.finish(slot, status, out, ns, fuel);
  }
}
