import { RoamError } from '../errors.ts';
import type { Manifest, RegionDecl } from '../bundle/manifest.ts';

/** A region's bytes with the typed views host functions need (Atomics work on shared and plain buffers). */
export interface BoundRegion {
  readonly decl: RegionDecl;
  /** decl.access as flags, so host functions do not parse it per call. */
  readonly readable: boolean;
  readonly writable: boolean;
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly i64: BigInt64Array;
}

/**
 * Checks one access to a bound region: declared readable / writable, in bounds, aligned (atomics). The
 * same rules at every place and over the wire; throws RoamError E_REGION naming the region.
 */
export function checkAccess(r: BoundRegion, offset: number, len: number, mode: 'r' | 'w', align = 1): BoundRegion {
  if (!(mode === 'r' ? r.readable : r.writable)) throw new RoamError('E_REGION', `region '${r.decl.name}' is not declared ${mode === 'r' ? 'readable' : 'writable'}`);
  if (offset + len > r.decl.size) throw new RoamError('E_REGION', `region '${r.decl.name}' access out of bounds: offset ${offset} + ${len} > size ${r.decl.size}`);
  if (offset % align !== 0) throw new RoamError('E_REGION', `region '${r.decl.name}' atomic access at offset ${offset} is not ${align}-byte aligned`);
  return r;
}

/** Where region memory comes from: SharedArrayBuffer in one process, POSIX shm across processes. */
export type RegionAllocator = (key: string, size: number) => ArrayBufferLike;

export const sharedArrayAllocator: RegionAllocator = (_key, size) => new SharedArrayBuffer(size);

export function bindRegion(decl: RegionDecl, buffer: ArrayBufferLike): BoundRegion {
  const len8 = Math.floor(buffer.byteLength / 8);
  return {
    decl,
    readable: decl.access.includes('r'),
    writable: decl.access.includes('w'),
    u8: new Uint8Array(buffer, 0, decl.size),
    u32: new Uint32Array(buffer, 0, len8 * 2),
    i64: new BigInt64Array(buffer, 0, len8),
  };
}

/** The bundle a region belongs to: its tenant and name (a manifest carries both). */
export interface RegionOwner {
  readonly tenant: string;
  readonly name: string;
}

/** A region's key: tenant, bundle and region. Two tenants' bundles of the same name never share memory. */
export function regionKey(owner: RegionOwner, region: string): string {
  return `${owner.tenant}/${owner.name}/${region}`;
}

/**
 * Owns region memory, keyed by tenant, bundle name and region name, so every instance and every version
 * of a bundle sees the same bytes (state lives in regions, not in guest memory, which is per instance).
 * Memory is freed when the bundle is removed (`free`): a later bundle of the same name starts from zeros.
 */
export class RegionStore {
  private readonly buffers = new Map<string, ArrayBufferLike>();
  constructor(
    private readonly allocate: RegionAllocator = sharedArrayAllocator,
    /** Called for each key `free` drops (POSIX shm unlinks its object there). */
    private readonly release: (key: string) => void = () => {},
  ) {}

  buffer(owner: RegionOwner, decl: RegionDecl): ArrayBufferLike {
    const key = regionKey(owner, decl.name);
    let buf = this.buffers.get(key);
    if (!buf || buf.byteLength < decl.size) {
      buf = this.allocate(key, Math.ceil(decl.size / 8) * 8);
      this.buffers.set(key, buf);
    }
    return buf;
  }

  bind(manifest: Manifest): BoundRegion[] {
    return manifest.regions.map((d) => bindRegion(d, this.buffer(manifest, d)));
  }

  /** The bundle's region buffers by key, for a place or worker that maps them (BundleInfo.regions). */
  shared(manifest: Manifest): Record<string, ArrayBufferLike> {
    const out: Record<string, ArrayBufferLike> = {};
    for (const d of manifest.regions) out[regionKey(manifest, d.name)] = this.buffer(manifest, d);
    return out;
  }

  /** Drops every region of a removed bundle (its memory goes once no place maps it any more). */
  free(owner: RegionOwner): void {
    const prefix = regionKey(owner, '');
    for (const key of [...this.buffers.keys()]) {
      if (!key.startsWith(prefix)) continue;
      this.buffers.delete(key);
      this.release(key);
    }
  }

  /** Forgets one region's memory here without the release hook (a place whose owner freed it: the next
   *  bundle of that name must get the owner's new memory, not this cached one). */
  forget(key: string): void {
    this.buffers.delete(key);
  }

  /** Bytes of region memory held for a tenant's bundles (all tenants when omitted). */
  bytes(tenant?: string): number {
    let n = 0;
    const prefix = tenant === undefined ? '' : `${tenant}/`;
    for (const [key, b] of this.buffers) if (key.startsWith(prefix)) n += b.byteLength;
    return n;
  }
}
