import { RoamError } from '../errors.ts';
import { AtomicOp } from '../wire/frame.ts';
import type { BoundRegion } from '../regions/region-store.ts';

/** Default lease on a seqlock taken over a connection (ms). */
export const DEFAULT_LEASE_MS = 2000;

interface Lease {
  word: Uint32Array;
  index: number;
  /** The odd value the lock word holds while this connection owns it. */
  held: number;
  timer: NodeJS.Timeout;
}

/**
 * Leases on the seqlocks a connection takes with remote atomics (Cell/FaRM style). A put at the client
 * place locks a slot with CAS_U32 even v → v + 1 and releases it with a store; if the client dies in
 * between, the slot would stay locked. The server notes each such CAS as a lease; when the connection
 * closes or the lease expires it breaks the lock with CAS v + 1 → v + 2: the version moves on, so readers
 * retry and see a consistent slot (remote writes are applied one frame at a time, so the data is either
 * the old record or the complete new one), and writers can take the lock again.
 *
 * After an expiry the holder may still be running: its next region write, or its release of that lock,
 * is refused with E_LEASE_EXPIRED (failing the message that held the lock) rather than landing while
 * another writer may hold the slot.
 */
export class ConnectionLeases {
  private readonly held = new Map<string, Lease>();
  private readonly expired = new Set<string>();
  private closed = false;

  constructor(private readonly leaseMs = DEFAULT_LEASE_MS, private readonly onBreak: () => void = () => {}) {}

  /** Before an atomic on `region` at `offset`: refuses a stale holder's release of an expired lock. */
  beforeAtomic(bundle: number, regionIndex: number, op: number, offset: number): void {
    if (op === AtomicOp.LOAD_U32 || this.expired.size === 0) return;
    const k = `${bundle}:${regionIndex}:${offset}`;
    if (this.expired.delete(k)) throw new RoamError('E_LEASE_EXPIRED', `the lease on the lock at offset ${offset} expired after ${this.leaseMs} ms and the server broke it; this update was refused`);
  }

  /** After an atomic: a CAS that took a seqlock starts a lease; a store or CAS on a leased word ends it. */
  afterAtomic(bundle: number, regionIndex: number, r: BoundRegion, op: number, offset: number, a: bigint, b: bigint, old: bigint): void {
    const k = `${bundle}:${regionIndex}:${offset}`;
    const lease = this.held.get(k);
    if (lease && (op === AtomicOp.STORE_U32 || op === AtomicOp.CAS_U32 || op === AtomicOp.ADD_U32)) {
      clearTimeout(lease.timer);
      this.held.delete(k);
    }
    const took = op === AtomicOp.CAS_U32 && old === a && (a & 1n) === 0n && b === a + 1n;
    if (!took || this.closed) return;
    this.expired.delete(k);
    const index = offset >>> 2, held = Number(b);
    const timer = setTimeout(() => {
      this.held.delete(k);
      if (this.breakLock(r.u32, index, held)) this.expired.add(k);
    }, this.leaseMs);
    timer.unref();
    this.held.set(k, { word: r.u32, index, held, timer });
  }

  /** Before a region write: a connection whose lease expired gets its next write refused. */
  beforeWrite(): void {
    if (this.expired.size === 0) return;
    this.expired.clear();
    throw new RoamError('E_LEASE_EXPIRED', `a lock this connection held expired after ${this.leaseMs} ms and the server broke it; this write was refused`);
  }

  /** The connection closed: every lock it still holds is broken. Returns how many were. */
  close(): number {
    this.closed = true;
    let broken = 0;
    for (const l of this.held.values()) {
      clearTimeout(l.timer);
      if (this.breakLock(l.word, l.index, l.held)) broken++;
    }
    this.held.clear();
    return broken;
  }

  /** Moves a still-held lock word on to the next even version; false if it had changed meanwhile. */
  private breakLock(word: Uint32Array, index: number, held: number): boolean {
    const broke = Atomics.compareExchange(word, index, held, (held + 1) >>> 0) === held;
    if (broke) this.onBreak();
    return broke;
  }

  get size(): number {
    return this.held.size;
  }
}
