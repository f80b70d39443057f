// The server's side of `roam serve --rdma`: one UCX worker on the server's main thread; every region
// of the region store registered with it (allocated by UCX, or the DPU agent's POSIX shm mapping
// registered as it is); RDMA_INFO answers (engine/wire/README.md) with the worker's address and a
// bundle's packed keys; a region the store frees (bundle deleted) is deregistered, which revokes its
// keys at every client (README.md: Failure handling).
import { RoamError } from '../errors.ts';
import type { Manifest } from '../bundle/manifest.ts';
import { RegionStore, regionKey, type RegionAllocator } from '../regions/region-store.ts';
import type { RdmaEndpoint } from './endpoint.ts';
import { RdmaWorker, type RdmaRegion } from './worker.ts';

/** Bound on an RDMA_INFO request's payload (the client worker's descriptor, JSON). */
const MAX_DESCRIPTOR = 4096;
/** Endpoints back to client workers held at once. One lives until its client's process exits (or its
 *  network fails), not when the wire connection closes; past this, RDMA_INFO is refused (the client
 *  stays on the wire path, saying why) rather than the server collecting endpoints without end. */
export const MAX_CLIENT_WORKERS = 1024;

/** What RDMA_INFO carries both ways: a worker's address (hex), pid and host id. */
export interface WireDescriptor {
  address: string;
  pid: number;
  host: string;
}

/** RDMA_INFO's reply: the server's worker and the bundle's keys (hex), in manifest region order. */
export interface RdmaInfo extends WireDescriptor {
  keys: string[];
  transports: string[];
}

export interface RdmaHostStats {
  /** UCX version and the transports and devices its context offers (UCX_TLS applies). */
  ucx: string;
  transports: string[];
  /** Transports of the endpoints to connected clients, per client endpoint. */
  clients: { pid: number; transports: string[] }[];
  regions: number;
  /** Regions deregistered (bundle deleted or grown), keys revoked at every client. */
  revoked: number;
  /** Revocations some client never acknowledged within 2 s (it was dead or stuck). */
  unacked: number;
}

export class RdmaHost {
  readonly worker: RdmaWorker;
  private readonly regions = new Map<string, RdmaRegion>();
  /** Endpoints back to client workers (revocations reach them through these), by address. */
  private readonly clients = new Map<string, { ep: RdmaEndpoint; pid: number }>();
  private store: RegionStore | null = null;
  private revoked = 0;
  private unacked = 0;

  private constructor() {
    this.worker = RdmaWorker.open();
  }

  /** Opens the server's UCX worker (throws E_RDMA_UNAVAILABLE when the addon is not built). */
  static open(): RdmaHost {
    return new RdmaHost();
  }

  /**
   * A region store whose memory UCX allocates (one-sided on this machine's shared-memory transports),
   * or, with `base` (the DPU agent's POSIX shm), whose base memory is registered as it is.
   */
  regionStore(base?: { allocator: RegionAllocator; release: (key: string) => void }): RegionStore {
    const allocate: RegionAllocator = (key, size) => {
      this.revoke(key); // a grown region: the old memory's keys stop working
      if (base) {
        const buf = base.allocator(key, size);
        this.regions.set(key, this.worker.register(new Uint8Array(buf)));
        return buf;
      }
      const { region, memory } = this.worker.alloc(size);
      this.regions.set(key, region);
      return memory;
    };
    this.store = new RegionStore(allocate, (key) => {
      this.revoke(key);
      base?.release(key);
    });
    return this.store;
  }

  /** RDMA_INFO: connects back to the client's worker (for revocations) and packs the bundle's keys. */
  info(manifest: Manifest, payload: Uint8Array): Uint8Array {
    const peer = parseDescriptor(payload);
    this.connectBack(peer);
    const keys = manifest.regions.map((d) => {
      this.store?.buffer(manifest, d); // allocated at deploy; this only makes sure
      const r = this.regions.get(regionKey(manifest, d.name));
      if (!r) throw new RoamError('E_RDMA', `region '${d.name}' of '${manifest.name}' is not registered with UCX`);
      return Buffer.from(r.key()).toString('hex');
    });
    const me = this.worker.descriptor();
    const reply: RdmaInfo = { address: Buffer.from(me.address).toString('hex'), pid: me.pid, host: me.host, keys, transports: this.transports() };
    return Buffer.from(JSON.stringify(reply));
  }

  /** The transports UCX's context offers here (from `ucp_context_print_info`'s resource lines). */
  transports(): string[] {
    return [...new Set([...this.worker.info().matchAll(/#\s+resource\s+\d+\s*:\s*md\s+\d+\s+dev\s+\d+\s+flags\s+\S+\s+(\S+)/g)].map((m) => m[1]!))];
  }

  stats(): RdmaHostStats {
    const clients = [...this.clients.values()].map(({ ep, pid }) => ({ pid, transports: safeLanes(ep) }));
    return { ucx: this.worker.info().split('\n')[0]!, transports: this.transports(), clients, regions: this.regions.size, revoked: this.revoked, unacked: this.unacked };
  }

  close(): void {
    for (const { ep } of this.clients.values()) ep.close();
    this.clients.clear();
    this.worker.close();
  }

  private revoke(key: string): void {
    const r = this.regions.get(key);
    if (!r) return;
    this.regions.delete(key);
    r.deregister().then(
      (n) => {
        this.unacked += n;
        this.revoked++;
      },
      () => {},
    );
  }

  private connectBack(peer: WireDescriptor): void {
    if (this.clients.has(peer.address)) return;
    if (this.clients.size >= MAX_CLIENT_WORKERS) throw new RoamError('E_RDMA_LIMIT', `this server already holds UCX endpoints to ${MAX_CLIENT_WORKERS} client workers`);
    const address = new Uint8Array(Buffer.from(peer.address, 'hex'));
    // ucp_ep_create trusts the address and aborts the process on a malformed one (a UCX assertion):
    // check what can be checked here, its header byte (UCX's address version and flags, the same for
    // every worker of this UCX build). A well-formed header over garbage is not caught (README).
    if (address.length < 16 || address[0] !== this.worker.address[0])
      throw new RoamError('E_RDMA_ADDRESS', `RDMA_INFO: not a UCX worker address of this UCX version (${address.length} bytes, header 0x${(address[0] ?? 0).toString(16)})`);
    const ep = this.worker.connect({ address, pid: peer.pid, host: peer.host });
    this.clients.set(peer.address, { ep, pid: peer.pid });
    ep.onError(() => {
      this.clients.delete(peer.address);
      ep.close();
    });
  }
}

function safeLanes(ep: RdmaEndpoint): string[] {
  try {
    return ep.lanes().all;
  } catch {
    return [];
  }
}

function parseDescriptor(payload: Uint8Array): WireDescriptor {
  if (payload.length > MAX_DESCRIPTOR) throw new RoamError('E_FRAME', `RDMA_INFO payload of ${payload.length} bytes exceeds ${MAX_DESCRIPTOR}`);
  let d: Partial<WireDescriptor>;
  try {
    d = JSON.parse(Buffer.from(payload).toString('utf8')) as Partial<WireDescriptor>;
  } catch {
    throw new RoamError('E_FRAME', 'RDMA_INFO payload is not JSON { address, pid, host }');
  }
  if (typeof d.address !== 'string' || !/^([0-9a-f]{2})+$/.test(d.address) || !Number.isInteger(d.pid) || typeof d.host !== 'string' || d.host.length > 512)
    throw new RoamError('E_FRAME', 'RDMA_INFO payload must be { address: hex, pid: integer, host: string }');
  return d as WireDescriptor;
}
