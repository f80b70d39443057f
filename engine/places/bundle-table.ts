import { Engine } from '../runtime/engine.ts';
import { RegionStore, type BoundRegion } from '../regions/region-store.ts';
import type { HandlerDecl, Manifest } from '../bundle/manifest.ts';
import type { Bundle } from '../bundle/bundle.ts';
import { RoamError } from '../errors.ts';
import type { BundleInfo } from './slot-runner.ts';
import type { ComponentDeployment } from '../components/message-deployment.ts';

export interface Registered {
  /** Wire id (u16): stable across versions of the same name, never reused for another bundle. */
  id: number;
  manifest: Manifest;
  /** The owning tenant (manifest.tenant), read per message by the wire's tenant check. */
  tenant: string;
  bytes: Uint8Array;
  handlers: Map<number, HandlerDecl>;
  /** Server-side views of the bundle's regions (remote reads, writes and atomics run on these). */
  regions: BoundRegion[];
  info: BundleInfo;
  /** A message-handler component (engine/components): served in its own worker, not by the places. */
  component?: ComponentDeployment;
}

/**
 * The places' routing table: the deployed handler bundles by wire id (u16) and by name. The server's one
 * registry (engine/server/registry.ts) writes it; the wire front door and the places read it. Nothing is
 * compiled here (places compile lazily), so hundreds of tenants stay cheap.
 */
export class BundleTable {
  private readonly byId: Array<Registered | undefined> = [];
  private readonly byName = new Map<string, Registered>();
  /** Messages and error replies per wire id at the wire front door (ids are stable across versions, so
   *  the counts survive a redeploy; /metrics reads them per bundle). Plain arrays: a message is one add. */
  readonly calls: number[] = [];
  readonly errors: number[] = [];
  /** Verifies and meters (engine/admission) and deploys components with these regions. */
  readonly engine: Engine;

  constructor(readonly regions: RegionStore = new RegionStore()) {
    this.engine = new Engine({ regions });
  }

  /** Adds or replaces (same name, same id) a verified core bundle. */
  install(bundle: Bundle): Registered {
    const m = bundle.manifest;
    const id = this.idFor(m.name);
    const r: Registered = { id, manifest: m, tenant: m.tenant, bytes: bundle.bytes, handlers: handlersOf(m), regions: this.regions.bind(m), info: { id, bytes: bundle.bytes, regions: this.regions.shared(m) } };
    void this.byId[id]?.component?.close();
    return this.put(r);
  }

  /**
   * Adds a message-handler component (world `message`): it runs in its own worker thread and shares
   * this table's regions; no place gets it (the server routes its messages to it directly).
   */
  installComponent(component: ComponentDeployment, bytes: Uint8Array): Registered {
    const m = component.manifest;
    const id = this.idFor(m.name);
    void this.byId[id]?.component?.close();
    return this.put({ id, manifest: m, tenant: m.tenant, bytes, handlers: handlersOf(m), regions: this.regions.bind(m), info: { id, bytes, regions: {} }, component });
  }

  /** Takes a bundle out (its id stays retired: a client holding it gets E_NO_BUNDLE, never another bundle). */
  remove(name: string): Registered | undefined {
    const r = this.byName.get(name);
    if (!r) return undefined;
    this.byName.delete(name);
    this.byId[r.id] = undefined;
    void r.component?.close();
    return r;
  }

  /** Stops the workers of deployed components. */
  async closeComponents(): Promise<void> {
    await Promise.all(this.byId.map((r) => r?.component?.close()));
  }

  /** Throws E_LIMIT when bundle `name` would need a wire id and none is left (checked before a swap commits). */
  checkRoom(name: string): void {
    this.idFor(name);
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

  private idFor(name: string): number {
    const id = this.byName.get(name)?.id ?? this.byId.length;
    if (id > 0xffff) throw new RoamError('E_LIMIT', 'at most 65536 bundles per server');
    return id;
  }

  private put(r: Registered): Registered {
    this.byId[r.id] = r;
    this.calls[r.id] ??= 0;
    this.errors[r.id] ??= 0;
    this.byName.set(r.manifest.name, r);
    return r;
  }
}

const handlersOf = (m: Manifest) => new Map(m.handlers.map((h) => [h.type, h]));
