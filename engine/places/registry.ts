import { Engine } from '../runtime/engine.ts';
import { RegionStore, type BoundRegion } from '../regions/region-store.ts';
import type { HandlerDecl, Manifest } from '../bundle/manifest.ts';
import { RoamError } from '../errors.ts';
import type { BundleInfo } from './slot-runner.ts';
import type { ComponentDeployment } from '../components/message-deployment.ts';

export interface Registered {
  id: number;
  manifest: Manifest;
  bytes: Uint8Array;
  handlers: Map<number, HandlerDecl>;
  /** Server-side views of the bundle's regions (remote reads, writes and atomics run on these). */
  regions: BoundRegion[];
  info: BundleInfo;
  /** A message-handler component (engine/components): served in its own worker, not by the places. */
  component?: ComponentDeployment;
}

/**
 * Deployed bundles by wire id (u16) and by name. Verification and metering happen here once
 * (Engine.prepare: no instance is created, so hundreds of tenants stay cheap); places compile lazily.
 */
export class Registry {
  private readonly byId: Registered[] = [];
  private readonly byName = new Map<string, Registered>();
  private readonly engine: Engine;

  constructor(readonly regions: RegionStore = new RegionStore()) {
    this.engine = new Engine({ regions });
  }

  deploy(bytes: Uint8Array): Registered {
    const { bundle } = this.engine.prepare(bytes);
    const m = bundle.manifest;
    const old = this.byName.get(m.name);
    const id = old?.id ?? this.byId.length;
    if (id > 0xffff) throw new RoamError('E_LIMIT', 'at most 65536 bundles per server');
    const regions = this.regions.bind(m);
    const shared: Record<string, ArrayBufferLike> = {};
    for (const d of m.regions) shared[`${m.name}/${d.name}`] = this.regions.buffer(m.name, d);
    const r: Registered = { id, manifest: m, bytes, handlers: new Map(m.handlers.map((h) => [h.type, h])), regions, info: { id, bytes, regions: shared } };
    this.byId[id] = r;
    this.byName.set(m.name, r);
    return r;
  }

  /**
   * Deploys a message-handler component (world `message`): it runs in its own worker thread and shares
   * this registry's regions; no place gets it (the server routes its messages to it directly).
   */
  async deployComponent(bytes: Uint8Array): Promise<Registered> {
    const component = await this.engine.deployComponent(bytes);
    const m = component.manifest;
    const old = this.byName.get(m.name);
    const id = old?.id ?? this.byId.length;
    if (id > 0xffff) {
      await component.close();
      throw new RoamError('E_LIMIT', 'at most 65536 bundles per server');
    }
    void old?.component?.close();
    const r: Registered = { id, manifest: m, bytes, handlers: new Map(m.handlers.map((h) => [h.type, h])), regions: this.regions.bind(m), info: { id, bytes, regions: {} }, component };
    this.byId[id] = r;
    this.byName.set(m.name, r);
    return r;
  }

  /** Stops the workers of deployed components. */
  async closeComponents(): Promise<void> {
    await Promise.all(this.byId.map((r) => r?.component?.close()));
  }

  get(id: number): Registered | undefined {
    return this.byId[id];
  }

  named(name: string): Registered | undefined {
    return this.byName.get(name);
  }

  get size(): number {
    return this.byName.size;
  }
}
